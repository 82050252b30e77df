//! The path and query parameters of Kubernetes operations, in alphabetical
//! order as Kubernetes lists them.

use super::model::{Location, Param};

/// A path parameter (always required).
pub(crate) fn path(name: &'static str, description: String) -> Param {
    Param {
        name,
        location: Location::Path,
        description,
        ty: "string",
    }
}

fn query(name: &'static str, ty: &'static str, description: &str) -> Param {
    Param {
        name,
        location: Location::Query,
        description: description.to_string(),
        ty,
    }
}

/// `pretty`, accepted by every resource path.
pub(crate) fn pretty() -> Param {
    query(
        "pretty",
        "string",
        "If 'true', the output is pretty printed.",
    )
}

fn dry_run() -> Param {
    query(
        "dryRun",
        "string",
        "When present, modifications are not persisted. The only valid value is All.",
    )
}

fn field_selector() -> Param {
    query(
        "fieldSelector",
        "string",
        "Restrict the returned objects by their fields. Defaults to everything.",
    )
}

fn label_selector() -> Param {
    query(
        "labelSelector",
        "string",
        "Restrict the returned objects by their labels. Defaults to everything.",
    )
}

fn continue_token() -> Param {
    query(
        "continue",
        "string",
        "Continue token returned by a previous chunked list.",
    )
}

/// Create and replace: `dryRun`, `fieldManager`, `fieldValidation`; patch adds
/// `force`. Listing `fieldValidation` is what makes kubectl validate
/// server-side (`fieldValidation=Strict`) instead of client-side.
pub(crate) fn write(patch: bool) -> Vec<Param> {
    let mut params = vec![
        dry_run(),
        query(
            "fieldManager",
            "string",
            "Name of the actor making the change; at most 128 printable characters.",
        ),
        query(
            "fieldValidation",
            "string",
            "What to do with unknown or duplicate fields in the body: Ignore, Warn (the default) or Strict (fail).",
        ),
    ];
    if patch {
        params.push(query(
            "force",
            "boolean",
            "Take over fields owned by other managers. Only valid for apply patches.",
        ));
    }
    params
}

/// List and watch.
pub(crate) fn list() -> Vec<Param> {
    vec![
        query(
            "allowWatchBookmarks",
            "boolean",
            "Ask for BOOKMARK watch events.",
        ),
        continue_token(),
        field_selector(),
        label_selector(),
        query(
            "limit",
            "integer",
            "Maximum number of objects to return in one list chunk.",
        ),
        query(
            "resourceVersion",
            "string",
            "Resource version the list or watch starts from.",
        ),
        query(
            "resourceVersionMatch",
            "string",
            "How resourceVersion applies to a list: Exact or NotOlderThan.",
        ),
        query(
            "sendInitialEvents",
            "boolean",
            "Start a watch with ADDED events for the current state.",
        ),
        query(
            "timeoutSeconds",
            "integer",
            "Timeout of the list or watch call.",
        ),
        query("watch", "boolean", "Watch for changes instead of listing."),
    ]
}

/// Delete of one object.
pub(crate) fn delete() -> Vec<Param> {
    vec![
        dry_run(),
        query(
            "gracePeriodSeconds",
            "integer",
            "Seconds before the object is deleted; zero deletes immediately.",
        ),
        query(
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            "boolean",
            "Delete objects that cannot be read from storage. Dangerous.",
        ),
        query(
            "orphanDependents",
            "boolean",
            "Deprecated: use propagationPolicy.",
        ),
        query(
            "propagationPolicy",
            "string",
            "Garbage collection of dependents: Orphan, Background or Foreground.",
        ),
    ]
}

/// Delete of a collection: the delete parameters plus the list selectors.
pub(crate) fn delete_collection() -> Vec<Param> {
    let mut params = delete();
    params.extend([
        continue_token(),
        field_selector(),
        label_selector(),
        query(
            "limit",
            "integer",
            "Maximum number of objects to delete in one chunk.",
        ),
        query(
            "resourceVersion",
            "string",
            "Resource version the objects to delete are listed at.",
        ),
        query(
            "resourceVersionMatch",
            "string",
            "How resourceVersion applies: Exact or NotOlderThan.",
        ),
        query("timeoutSeconds", "integer", "Timeout of the call."),
    ]);
    params.sort_by_key(|p| p.name);
    params
}
