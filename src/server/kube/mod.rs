//! The Kubernetes session backend: pure builders of the objects a launch creates and of what a
//! project namespace holds, a check of the API server's own validation rules, the backend itself
//! (sessions, and creating, adopting and removing project namespaces), and the `render` command
//! that prints what a launch would create.

pub mod backend;
pub mod manifests;
pub mod observe;
pub mod pod_watch;
mod project_namespace;
pub mod project_objects;
pub mod references;
pub mod render;
pub mod rules;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod verifier;

pub use backend::KubeBackend;
