//! The `KOS_HOST_*` variables: how a process joins a world.

use std::time::Duration;

use super::{CONNECT_TIMEOUT, NAME_MAX};

/// How a process joins a world (what the `KOS_HOST_*` variables say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldConfig {
    /// The region's name under `/dev/shm` (letters, digits, `.`, `_`, `-`).
    pub name: String,
    /// This process's entity name.
    pub entity: String,
    /// Client connections: (connection id, target entity).
    pub connections: Vec<(String, String)>,
    /// How long [`World::connect`](super::World::connect) waits for a listed target to register.
    pub connect_timeout: Duration,
}

impl WorldConfig {
    /// The configuration in the environment: `None` when `KOS_HOST_WORLD`
    /// is unset, an error naming the variable when one is malformed.
    pub fn from_env() -> Result<Option<WorldConfig>, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let Some(name) = var("KOS_HOST_WORLD") else {
            return Ok(None);
        };
        let entity = match var("KOS_HOST_ENTITY") {
            Some(e) => e,
            None => std::env::current_exe()
                .ok()
                .and_then(|p| Some(p.file_name()?.to_str()?.to_owned()))
                .unwrap_or_else(|| format!("pid{}", std::process::id())),
        };
        let connections = match var("KOS_HOST_CONNECTIONS") {
            Some(list) => parse_connections(&list)
                .map_err(|why| format!("KOS_HOST_CONNECTIONS={list:?}: {why}"))?,
            None => Vec::new(),
        };
        let connect_timeout = match var("KOS_HOST_CONNECT_TIMEOUT_MS") {
            Some(ms) => Duration::from_millis(ms.parse().map_err(|_| {
                format!("KOS_HOST_CONNECT_TIMEOUT_MS={ms:?}: not a number of milliseconds")
            })?),
            None => CONNECT_TIMEOUT,
        };
        Ok(Some(WorldConfig {
            name,
            entity,
            connections,
            connect_timeout,
        }))
    }
}

/// `id=entity[,id=entity...]`, each part a valid name.
pub(crate) fn parse_connections(list: &str) -> Result<Vec<(String, String)>, String> {
    list.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (id, target) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not <id>=<entity>"))?;
            let (id, target) = (id.trim(), target.trim());
            for n in [id, target] {
                if !valid_name(n) {
                    return Err(format!("{n:?} is empty or longer than {NAME_MAX} bytes"));
                }
            }
            Ok((id.to_owned(), target.to_owned()))
        })
        .collect()
}

/// A name fits a slot: 1 to [`NAME_MAX`] bytes.
pub(crate) fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= NAME_MAX
}
