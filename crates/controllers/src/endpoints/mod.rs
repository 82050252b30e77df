//! Endpoints and EndpointSlices: the addresses behind a Service with a
//! selector, as kube-controller-manager's endpoints and endpointslice
//! controllers publish them.
//!
//! Both are pure: the shell lists the Service's pods (its namespace, any
//! labels; the functions apply the selector), and for slices the existing
//! EndpointSlices labelled `kubernetes.io/service-name=<service>`, then
//! writes what comes back.
//!
//! - [`desired_endpoints()`] builds the `Endpoints` object (same name as the
//!   Service); [`endpoints_equal()`] tells the shell when a write would
//!   change nothing.
//! - [`plan_slices()`] returns the slices to create, update and delete,
//!   reusing existing slices as Kubernetes does (at most
//!   [`MAX_ENDPOINTS_PER_SLICE`] endpoints each).
//!
//! Which pods are published: pods that have an IP, are not terminal
//! (`Succeeded`/`Failed`), and (for Endpoints, unless
//! `publishNotReadyAddresses`) not being deleted. Ready pods are
//! `addresses`, others `notReadyAddresses`; slices carry `ready`, `serving`
//! and `terminating` conditions instead. A service port's `targetPort` is a
//! number or the name of a container port with the same protocol; a pod
//! without the named port is left out of that port.
//!
//! Not done here: topology hints and zones (they need nodes), the
//! `endpoints.kubernetes.io/last-change-trigger-time` annotation (it needs
//! change times), mirroring of selector-less Endpoints into slices.

mod addresses;
mod controller;
mod decide;
mod slices;
mod slices_fill;

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod slices_tests;

pub use addresses::{find_port, is_headless, selects_pod, should_publish};
pub use controller::Controller;
pub use decide::{desired_endpoints, endpoints_equal};
pub use slices::{SlicePlan, plan_slices};

/// Label on Endpoints and EndpointSlices of headless services (value `""`).
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";
/// Label naming the Service of an EndpointSlice.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Label naming the controller managing an EndpointSlice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// Annotation set to `truncated` on Endpoints holding more than
/// [`MAX_ENDPOINTS_ADDRESSES`] addresses.
pub const OVER_CAPACITY_ANNOTATION: &str = "endpoints.kubernetes.io/over-capacity";
/// The most addresses one Endpoints object holds.
pub const MAX_ENDPOINTS_ADDRESSES: usize = 1000;
/// The most endpoints one EndpointSlice holds.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
