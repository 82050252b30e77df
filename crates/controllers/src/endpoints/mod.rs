//! Endpoints and EndpointSlices (placeholder, filled in next commit).
