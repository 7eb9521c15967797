//! Keeps the hourly alert roll-ups current: periodic work (`jobs::registry`) rolls settled
//! hours every few minutes. Requests never wait for it: the hours it has not rolled yet are counted from the
//! alerts themselves, which is slower but right (a first catch-up over millions of alerts
//! takes a minute). Departments come from the asset inventory at roll-up time.

use crate::error::AppResult;
use crate::vulns::matching::AssetIndex;
use crate::App;

/// The department of the first inventory asset that `host` names ('' when none does).
pub fn department(index: &AssetIndex, host: &str) -> String {
    index
        .matching(&[host], &[host])
        .iter()
        .filter_map(|id| index.assets.get(id))
        .map(|a| a.department.clone())
        .find(|d| !d.is_empty())
        .unwrap_or_default()
}

/// Rolls up every settled hour that is not yet rolled up.
pub async fn ensure(app: &App) -> AppResult<()> {
    if app.store.rolled_until().await? >= hikeshi_store::settled_hour() {
        return Ok(());
    }
    let index = AssetIndex::load(&app.store).await?;
    let department_of = |host: &str| department(&index, host);
    app.store.roll_up_alerts(&department_of).await?;
    Ok(())
}
