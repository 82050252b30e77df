//! PodDisruptionBudget status (placeholder, filled in next commit).
