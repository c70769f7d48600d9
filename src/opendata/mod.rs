//! Open data: the territory's supply published as an anonymised Frictionless
//! data package (supply statistics and microdata, and how fast its canteens
//! pay), under statistical secrecy on both the suppliers' and the buyers'
//! side. See `disclosure.rs` and `payments.rs` for the method and
//! `docs/opendata.md` for what a reader of the data gets.

mod aggregate;
pub mod disclosure;
pub mod dto;
pub mod export;
mod handlers;
pub mod package;
pub mod payments;
pub mod queries;
pub mod release;

use std::sync::Arc;

/// Slots for this instance's open data downloads (each holds a connection).
pub type ExportSlots = Arc<tokio::sync::Semaphore>;

pub fn export_slots(count: usize) -> ExportSlots {
    Arc::new(tokio::sync::Semaphore::new(count))
}

/// Hands the memory a build freed back to the system. glibc keeps freed
/// memory in its per-thread arenas, and the service's resident size would
/// otherwise creep up publication after publication.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the kernel; it takes no
    // pointer and has no precondition.
    unsafe {
        libc::malloc_trim(0);
    }
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::publish_release)
        .service(handlers::list_releases)
        .service(handlers::get_release)
        .service(handlers::get_datapackage)
        .service(handlers::get_release_csv)
        .service(handlers::get_release_json);
}
