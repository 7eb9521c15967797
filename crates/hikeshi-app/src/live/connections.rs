//! The table of open syslog TCP connections: at most so many in all and per sending address,
//! and when the table is full a new sender takes the place of the connection idle the longest
//! (the one that stopped sending first), so idle connections cannot lock senders out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// `[live]` limits on syslog TCP senders.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub per_address: usize,
    /// A connection that sends nothing for this long is closed.
    pub idle: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 512,
            per_address: 64,
            idle: Duration::from_secs(300),
        }
    }
}

struct Entry {
    addr: IpAddr,
    last_active: Instant,
    evict: Arc<Notify>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    open: HashMap<u64, Entry>,
}

/// Shared by the listener and its connections.
pub struct Connections {
    limits: ConnectionLimits,
    table: Mutex<Table>,
}

/// Why a new connection was turned away.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// This address already holds its share.
    PerAddress,
}

/// A place in the table, given back when dropped.
pub struct Slot {
    id: u64,
    owner: Arc<Connections>,
    /// Notified when a newer sender takes this connection's place.
    pub evicted: Arc<Notify>,
}

impl Connections {
    pub fn new(limits: ConnectionLimits) -> Arc<Connections> {
        Arc::new(Connections {
            limits,
            table: Mutex::new(Table::default()),
        })
    }

    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for a new connection from `addr`: refused when the address holds its share;
    /// when the table is full, the longest-idle connection is told to close.
    pub fn admit(self: &Arc<Self>, addr: IpAddr) -> Result<Slot, Refused> {
        let mut t = self.table();
        let from_addr = t.open.values().filter(|e| e.addr == addr).count();
        if from_addr >= self.limits.per_address.max(1) {
            return Err(Refused::PerAddress);
        }
        if t.open.len() >= self.limits.max_connections.max(1) {
            let oldest = t
                .open
                .iter()
                .min_by_key(|(_, e)| e.last_active)
                .map(|(id, _)| *id);
            if let Some(id) = oldest.and_then(|id| t.open.remove(&id).map(|e| (id, e))) {
                tracing::warn!(addr = %id.1.addr, "syslog TCP: table full; the longest-idle connection closes");
                id.1.evict.notify_one();
            }
        }
        t.next_id += 1;
        let id = t.next_id;
        let evict = Arc::new(Notify::new());
        t.open.insert(
            id,
            Entry {
                addr,
                last_active: Instant::now(),
                evict: evict.clone(),
            },
        );
        Ok(Slot {
            id,
            owner: self.clone(),
            evicted: evict,
        })
    }

    pub fn open(&self) -> usize {
        self.table().open.len()
    }
}

impl Slot {
    /// Bytes arrived: this connection is not idle.
    pub fn touch(&self) {
        if let Some(e) = self.owner.table().open.get_mut(&self.id) {
            e.last_active = Instant::now();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.owner.table().open.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn an_address_gets_its_share_and_a_full_table_drops_the_longest_idle() {
        let c = Connections::new(ConnectionLimits {
            max_connections: 3,
            per_address: 2,
            idle: Duration::from_secs(60),
        });
        let a1 = c.admit(ip(1)).expect("first");
        let a2 = c.admit(ip(1)).expect("second");
        assert_eq!(c.admit(ip(1)).err(), Some(Refused::PerAddress));
        let b1 = c.admit(ip(2)).expect("another address");
        a1.touch();
        std::thread::sleep(Duration::from_millis(5));
        b1.touch();
        // Full: a2 has been idle the longest and gives way.
        let _c1 = c.admit(ip(3)).expect("a new sender");
        assert_eq!(c.open(), 3);
        drop(a2);
        assert_eq!(c.open(), 3, "an evicted slot was already given back");
        drop(a1);
        assert_eq!(c.open(), 2);
    }
}
