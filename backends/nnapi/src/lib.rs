//! edgehal's Android NNAPI backend (being written).
