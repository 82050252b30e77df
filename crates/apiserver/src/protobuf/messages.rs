//! Hand-written prost messages for the Kubernetes types brink decodes, with
//! field numbers from Kubernetes' `generated.proto` files. Fields brink does
//! not need are left out; the decoder skips them.

use std::collections::BTreeMap;

use prost::Message;

/// `runtime.TypeMeta` (note: apiVersion is field 1 here, unlike `meta.v1.TypeMeta`).
#[derive(Clone, PartialEq, Message)]
pub struct TypeMeta {
    #[prost(string, tag = "1")]
    pub api_version: String,
    #[prost(string, tag = "2")]
    pub kind: String,
}

/// `runtime.Unknown`: the envelope.
#[derive(Clone, PartialEq, Message)]
pub struct Unknown {
    #[prost(message, optional, tag = "1")]
    pub type_meta: Option<TypeMeta>,
    #[prost(bytes = "vec", tag = "2")]
    pub raw: Vec<u8>,
    #[prost(string, tag = "3")]
    pub content_encoding: String,
    #[prost(string, tag = "4")]
    pub content_type: String,
}

/// `meta.v1.ObjectMeta`, the fields a request body can meaningfully set.
#[derive(Clone, PartialEq, Message)]
pub struct ObjectMeta {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub generate_name: String,
    #[prost(string, tag = "3")]
    pub namespace: String,
    #[prost(string, tag = "5")]
    pub uid: String,
    #[prost(string, tag = "6")]
    pub resource_version: String,
    #[prost(btree_map = "string, string", tag = "11")]
    pub labels: BTreeMap<String, String>,
    #[prost(btree_map = "string, string", tag = "12")]
    pub annotations: BTreeMap<String, String>,
}

/// `meta.v1.Preconditions`.
#[derive(Clone, PartialEq, Message)]
pub struct Preconditions {
    #[prost(string, optional, tag = "1")]
    pub uid: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub resource_version: Option<String>,
}

/// `meta.v1.DeleteOptions`.
#[derive(Clone, PartialEq, Message)]
pub struct DeleteOptions {
    #[prost(int64, optional, tag = "1")]
    pub grace_period_seconds: Option<i64>,
    #[prost(message, optional, tag = "2")]
    pub preconditions: Option<Preconditions>,
    #[prost(bool, optional, tag = "3")]
    pub orphan_dependents: Option<bool>,
    #[prost(string, optional, tag = "4")]
    pub propagation_policy: Option<String>,
    #[prost(string, repeated, tag = "5")]
    pub dry_run: Vec<String>,
    #[prost(bool, optional, tag = "6")]
    pub ignore_store_read_error_with_cluster_breaking_potential: Option<bool>,
}

/// `meta.v1.FieldSelectorRequirement` and `LabelSelectorRequirement` (same fields).
#[derive(Clone, PartialEq, Message)]
pub struct SelectorRequirement {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub operator: String,
    #[prost(string, repeated, tag = "3")]
    pub values: Vec<String>,
}

/// `authorization.v1.FieldSelectorAttributes` and `LabelSelectorAttributes`.
#[derive(Clone, PartialEq, Message)]
pub struct SelectorAttributes {
    #[prost(string, tag = "1")]
    pub raw_selector: String,
    #[prost(message, repeated, tag = "2")]
    pub requirements: Vec<SelectorRequirement>,
}

/// `authorization.v1.ResourceAttributes`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceAttributes {
    #[prost(string, tag = "1")]
    pub namespace: String,
    #[prost(string, tag = "2")]
    pub verb: String,
    #[prost(string, tag = "3")]
    pub group: String,
    #[prost(string, tag = "4")]
    pub version: String,
    #[prost(string, tag = "5")]
    pub resource: String,
    #[prost(string, tag = "6")]
    pub subresource: String,
    #[prost(string, tag = "7")]
    pub name: String,
    #[prost(message, optional, tag = "8")]
    pub field_selector: Option<SelectorAttributes>,
    #[prost(message, optional, tag = "9")]
    pub label_selector: Option<SelectorAttributes>,
}

/// `authorization.v1.NonResourceAttributes`.
#[derive(Clone, PartialEq, Message)]
pub struct NonResourceAttributes {
    #[prost(string, tag = "1")]
    pub path: String,
    #[prost(string, tag = "2")]
    pub verb: String,
}

/// `authorization.v1.SelfSubjectAccessReviewSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct SelfSubjectAccessReviewSpec {
    #[prost(message, optional, tag = "1")]
    pub resource_attributes: Option<ResourceAttributes>,
    #[prost(message, optional, tag = "2")]
    pub non_resource_attributes: Option<NonResourceAttributes>,
}

/// `authorization.v1.SelfSubjectAccessReview` (the status a client sends is ignored).
#[derive(Clone, PartialEq, Message)]
pub struct SelfSubjectAccessReview {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<SelfSubjectAccessReviewSpec>,
}

/// `authentication.v1.SelfSubjectReview` (status ignored) and any other
/// object whose body is only its metadata.
#[derive(Clone, PartialEq, Message)]
pub struct MetadataOnly {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
}

/// `policy.v1.Eviction`.
#[derive(Clone, PartialEq, Message)]
pub struct Eviction {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub delete_options: Option<DeleteOptions>,
}
