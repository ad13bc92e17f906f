//! edgehal core.
