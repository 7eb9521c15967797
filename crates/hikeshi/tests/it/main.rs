//! hikeshi's end-to-end tests in one binary: the real `hikeshi` executable against SQLite and
//! a fresh PostgreSQL database, spoken to over HTTP, SMTP, syslog and NATS as a client would.
//! One binary links once; `cargo test -p hikeshi --test it <module>::` runs one part.

mod api;
mod audit_log;
mod backup;
mod cli;
mod common;
mod durability;
mod escalation;
mod hardening;
mod hunt;
mod intake;
mod jobs;
mod ldap;
mod live;
mod live_alerts;
mod live_nats;
mod live_sources;
mod mail;
mod oidc;
mod psirt;
mod reporting;
mod response;
mod response_content;
mod response_exec;
mod response_isolation;
mod response_webhook;
mod second_factor;
mod sender_checks;
mod sharing;
mod sigma_regression;
mod tls;
mod tls_listeners;
mod vulns;
mod vuls_delivery;
