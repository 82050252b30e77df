//! The API surface controllers rely on, against an in-process server:
//! PodDisruptionBudgets and EndpointSlices, evictions that honour budgets,
//! and delete propagation finalizers.

mod common;
mod disruption;
mod endpoint_slices;
mod propagation;
