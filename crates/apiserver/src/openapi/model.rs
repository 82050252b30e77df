//! The neutral model of paths and operations that both the v2 and the v3
//! writers render.

use super::schemas::Gvk;

/// HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Put,
    Post,
    Delete,
    Patch,
}

impl Method {
    /// Lower-case name, the key of the operation in a path item.
    pub fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Patch => "patch",
        }
    }
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    Path,
    Query,
}

/// A path or query parameter.
#[derive(Debug, Clone)]
pub(crate) struct Param {
    pub name: &'static str,
    pub location: Location,
    pub description: String,
    /// `string`, `boolean` or `integer`.
    pub ty: &'static str,
}

/// Request body of an operation.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// An object of the named definition; `required` says whether it must be sent.
    Object { schema: String, required: bool },
    /// A patch in any of the four patch content types.
    Patch,
}

/// Content types of a PATCH body.
pub(crate) const PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

/// `(status code, description, response schema)`.
pub(crate) type Response = (&'static str, &'static str, Option<String>);

/// One operation.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub method: Method,
    pub id: String,
    pub description: String,
    pub tag: String,
    /// `x-kubernetes-action`, absent for discovery operations.
    pub action: Option<&'static str>,
    /// `x-kubernetes-group-version-kind`, absent for discovery operations.
    pub gvk: Option<Gvk>,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    pub responses: Vec<Response>,
}

/// A path and its operations.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub path: String,
    pub params: Vec<Param>,
    pub ops: Vec<Operation>,
}

/// One `/openapi/v3/<key>` document's worth of routes.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    /// `api`, `api/v1`, `apis`, `apis/apps` or `apis/apps/v1`.
    pub key: String,
    pub routes: Vec<Route>,
    /// Definitions to include besides those the operations reference.
    pub extra_schemas: Vec<&'static str>,
}
