//! Letting Postgres keep prepared statements that diesel would re-prepare.
//!
//! diesel never caches `UPDATE` statements or `sql_query` text (their SQL may
//! vary with the values, e.g. optional changeset fields), so each call costs
//! an extra round trip to prepare plus a fresh plan. Every statement wrapped
//! here has fixed SQL text, and the cache key is that text plus the bind
//! types (no static query id), so caching cannot confuse two statements.
//! On the hot paths (validate, rotate) this halves the round trips.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;

/// A statement with fixed SQL text, safe to keep prepared per connection.
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}
