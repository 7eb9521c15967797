//! The unit of work: one use case, one transaction. `Store::write` runs a closure on a [`Tx`]
//! and commits when it returns `Ok`; an `Err` (or a panic, or a dropped future) rolls every
//! write of the closure back, so a use case that creates a case, copies observables and queues
//! a job either does all of it or none.
//!
//! The methods on `Tx` are the writes a use case can combine; each `Store` method of the same
//! name is that write in a transaction of its own.

use crate::{Backend, Result, Store, StoreError};
use sqlx::{Any, AnyConnection, Transaction};

pub struct Tx {
    pub(crate) conn: Transaction<'static, Any>,
    pub(crate) backend: Backend,
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.conn.commit().await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Store {
    /// A transaction on the writer; commit it with [`Tx::commit`], or drop it to roll back.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx {
            conn: self.writer.begin().await?,
            backend: self.backend(),
        })
    }

    /// Runs `work` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    ///
    /// ```ignore
    /// store.write(async |tx| {
    ///     let case = tx.create_case(&new, &actor).await?;
    ///     tx.add_observable(&case.id, &observable, &actor).await?;
    ///     Ok::<_, StoreError>(case)
    /// }).await?;
    /// ```
    pub async fn write<T, E, F>(&self, work: F) -> std::result::Result<T, E>
    where
        E: From<StoreError>,
        F: AsyncFnOnce(&mut Tx) -> std::result::Result<T, E>,
    {
        let mut tx = self.begin().await?;
        let out = work(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }
}
