//! The errors of server-side apply, with the messages Kubernetes gives for
//! field ownership conflicts.

use super::managed::UPDATE;

/// One field applied with a value different from the one another manager set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The manager owning the field.
    pub manager: String,
    /// Its operation: `Apply` or `Update`.
    pub operation: String,
    /// The API version of its entry.
    pub api_version: String,
    /// The subresource its entry was written through, if any.
    pub subresource: Option<String>,
    /// The field, e.g. `.spec.replicas`.
    pub field: String,
}

impl Conflict {
    fn owner(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            s.push_str(&format!(" with subresource {sub:?}"));
        }
        if self.operation == UPDATE {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }

    /// The message of this conflict's Status cause, e.g.
    /// `conflict with "kubectl" using apps/v1`.
    pub fn cause_message(&self) -> String {
        format!("conflict with {}", self.owner())
    }
}

fn conflicts_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!(
            "Apply failed with 1 conflict: {}: {}",
            only.cause_message(),
            only.field
        );
    }
    let mut lines: Vec<String> = Vec::new();
    let mut previous: Option<String> = None;
    for c in conflicts {
        let owner = c.owner();
        if previous.as_ref() != Some(&owner) {
            lines.push(format!("conflicts with {owner}:"));
            previous = Some(owner);
        }
        lines.push(format!("- {}", c.field));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// Why a server-side apply was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// Fields would change that other managers own; retry with `force` to
    /// take them over (HTTP 409, one cause per conflict).
    #[error("{}", conflicts_message(conflicts))]
    Conflict {
        /// The conflicting fields, grouped by manager.
        conflicts: Vec<Conflict>,
    },
    /// The applied configuration is not acceptable: not an object, wrong
    /// kind, or carrying managedFields (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// The configuration does not fit the kind's structure, e.g. a list item
    /// without its key fields (HTTP 422).
    #[error("{0}")]
    Invalid(String),
    /// The stored managedFields cannot be decoded (HTTP 500).
    #[error("failed to decode managed fields: {0}")]
    ManagedFields(String),
}

impl ApplyError {
    /// The Kubernetes message for this error.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// The HTTP status code Kubernetes answers this error with.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Conflict { .. } => 409,
            Self::BadRequest(_) => 400,
            Self::Invalid(_) => 422,
            Self::ManagedFields(_) => 500,
        }
    }
}
