//! HTTP plumbing shared by every feature: extractors with problem+json errors,
//! pagination, the request-context middleware, and the 404/405 fallback.

pub mod decimal;
pub mod extract;
pub mod fallback;
pub mod limits;
pub mod middleware;
pub mod negotiate;
pub mod pagination;
