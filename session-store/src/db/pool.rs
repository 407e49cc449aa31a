//! The bb8 connection pool.
//!
//! Built unchecked so the service starts (and later recovers) while Postgres
//! is down; a call that cannot get a connection within `connect_timeout`
//! answers UNAVAILABLE. Connections whose socket closed are dropped when they
//! return to the pool (diesel-async's `is_broken`), so a restarted Postgres is
//! picked up without restarting this service. Checkouts are not pinged
//! (`RecyclingMethod::Fast`): a connection that died unnoticed fails one call
//! with UNAVAILABLE and is then discarded.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::bb8::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use futures::FutureExt;

use super::connect::ConnectOptions;

pub type DbPool = Pool<AsyncPgConnection>;

pub fn build_pool(
    database_url: &str,
    size: u32,
    connect_timeout: Duration,
    options: ConnectOptions,
) -> DbPool {
    let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
    // The default (`Verified`) runs `SELECT 1` on every checkout: one more round
    // trip than the call itself on the hot paths. A dead connection is instead
    // noticed by its closed socket when it returns to the pool.
    manager_config.recycling_method = RecyclingMethod::Fast;
    manager_config.custom_setup = Box::new(move |url| {
        let options = options.clone();
        let url = url.to_owned();
        async move { super::connect::establish(&url, &options).await }.boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        database_url,
        manager_config,
    );
    Pool::builder()
        .max_size(size)
        .connection_timeout(connect_timeout)
        .build_unchecked(manager)
}
