//! Hand-written statements that each connection prepares once.
//!
//! Diesel never caches a `sql_query`: its text could differ on every call,
//! so each execution prepares a new statement (one round trip), runs it
//! (another) and closes it, and PostgreSQL parses and plans it every time.
//! A statement whose text is fixed (constants, or a bounded set of shapes
//! built from constants, never values) is safe to cache: wrapped in
//! [`Prepared`], it is prepared on the connection's first use and then only
//! bound and executed, like diesel's own query builder statements, keyed by
//! its text and bind types.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A statement with a fixed text, cached per connection (see the module doc).
#[derive(Debug, Clone)]
pub struct Prepared<Q>(Q);

/// `.prepared()` on any hand-written statement whose text never carries a
/// value (values go in binds).
pub trait PrepareOnce: Sized {
    fn prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<Q: QueryFragment<Pg>> PrepareOnce for Q {}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

/// No static id: the cache keys the statement by its text and bind types.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}
