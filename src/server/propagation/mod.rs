//! Cluster-wide secret propagation: the pure rules first (the stores and the controller follow).

pub mod reconcile;
