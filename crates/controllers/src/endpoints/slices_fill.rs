//! Packing one port set's endpoints into slices: keep endpoints where they
//! are, fill slices that change anyway, then the best-fitting unchanged
//! slice, then new ones (Kubernetes' `reconcileByPortMapping`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};

use super::MAX_ENDPOINTS_PER_SLICE;
use super::slices::{EndpointKey, endpoint_key, new_slice, slice_labels};

/// Creates, updates and deletes for the slices of one port set.
pub(super) type Changes = (Vec<EndpointSlice>, Vec<EndpointSlice>, Vec<EndpointSlice>);

/// Moves up to the slice's free room from `desired` (in key order) into it.
fn fill(slice: &mut EndpointSlice, desired: &mut BTreeMap<EndpointKey, Endpoint>) {
    while slice.endpoints.len() < MAX_ENDPOINTS_PER_SLICE {
        let Some((_, ep)) = desired.pop_first() else {
            return;
        };
        slice.endpoints.push(ep);
    }
}

/// Reconciles `existing` slices of one port set with the `desired`
/// endpoints (consumed).
pub(super) fn reconcile_ports(
    service: &Service,
    existing: &[&EndpointSlice],
    desired: &mut BTreeMap<EndpointKey, Endpoint>,
    ports: &[EndpointPort],
    addr_type: &str,
) -> Changes {
    let labels = slice_labels(service);
    let mut by_name: BTreeMap<String, EndpointSlice> = BTreeMap::new();
    let (mut unchanged, mut to_update, mut to_delete) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for slice in existing {
        let name = slice.metadata.name.clone().unwrap_or_default();
        let mut kept = Vec::new();
        let mut changed = false;
        for ep in &slice.endpoints {
            if let Some(want) = desired.remove(&endpoint_key(ep)) {
                changed |= want != *ep;
                kept.push(want);
            }
        }
        let labels_changed = slice.metadata.labels.as_ref() != Some(&labels);
        let mut copy = (*slice).clone();
        if changed || kept.len() != slice.endpoints.len() {
            if kept.is_empty() {
                to_delete.insert(name.clone());
            } else {
                copy.endpoints = kept;
                copy.metadata.labels = Some(labels.clone());
                to_update.insert(name.clone());
            }
        } else if labels_changed {
            copy.metadata.labels = Some(labels.clone());
            to_update.insert(name.clone());
        } else {
            unchanged.insert(name.clone());
        }
        by_name.insert(name, copy);
    }

    // fill the slices being written anyway, fullest first
    if !desired.is_empty() {
        let mut names: Vec<&String> = to_update.iter().collect();
        names.sort_by_key(|n| std::cmp::Reverse(by_name[*n].endpoints.len()));
        for name in names {
            if let Some(slice) = by_name.get_mut(name) {
                fill(slice, desired);
            }
        }
    }

    let mut create = Vec::new();
    while !desired.is_empty() {
        let mut target = None;
        if desired.len() < MAX_ENDPOINTS_PER_SLICE {
            // the unchanged slice that ends up closest to full
            target = unchanged
                .iter()
                .filter_map(|n: &String| {
                    let room = MAX_ENDPOINTS_PER_SLICE
                        .checked_sub(by_name[n].endpoints.len() + desired.len())?;
                    Some((room, n.clone()))
                })
                .min();
        }
        match target {
            Some((_, name)) => {
                if let Some(slice) = by_name.get_mut(&name) {
                    fill(slice, desired);
                }
                unchanged.remove(&name);
                to_update.insert(name);
            }
            None => {
                let mut slice = new_slice(service, ports, addr_type);
                fill(&mut slice, desired);
                create.push(slice);
            }
        }
    }
    let pick = |names: &BTreeSet<String>| -> Vec<EndpointSlice> {
        names
            .iter()
            .filter_map(|n| by_name.get(n).cloned())
            .collect()
    };
    (create, pick(&to_update), pick(&to_delete))
}
