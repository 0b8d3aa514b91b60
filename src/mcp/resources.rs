//! Resources: `kanban://boards/{id}` is a board's state as JSON; `resources/subscribe` relays the
//! board's committed changes (the hub's board channel, as WebSocket subscribers receive them) as
//! `notifications/resources/updated`.

use rmcp::RoleServer;
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
    ResourceUpdatedNotificationParam,
};
use rmcp::service::Peer;
use tokio::sync::broadcast::error::RecvError;

use super::handler::Subscriptions;
use crate::auth::Caller;
use crate::db;
use crate::domain::role::Role;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::ws::conn::Topic;

const PREFIX: &str = "kanban://boards/";

fn board_uri(id: i64) -> String {
    format!("{PREFIX}{id}")
}

/// The board id of a `kanban://boards/{id}` URI.
fn board_id(uri: &str) -> ApiResult<i64> {
    uri.strip_prefix(PREFIX)
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::field("uri", "invalid_value", format!("Unknown resource URI: {uri}")))
}

/// Every board as a resource (viewer).
pub async fn list(state: &AppState, caller: &Caller) -> ApiResult<ListResourcesResult> {
    caller.require(Role::Viewer)?;
    let boards = db::boards::list(&state.db).await?;
    let resources = boards
        .into_iter()
        .map(|b| {
            let mut r = Resource::new(board_uri(b.id), b.name);
            r.mime_type = Some("application/json".into());
            r.description = Some("Board state: columns with their tickets and counts".into());
            r
        })
        .collect();
    Ok(ListResourcesResult::with_all_items(resources))
}

pub fn templates() -> ListResourceTemplatesResult {
    let mut t = ResourceTemplate::new(format!("{PREFIX}{{id}}"), "board");
    t.mime_type = Some("application/json".into());
    ListResourceTemplatesResult::with_all_items(vec![t])
}

/// A board's state as JSON (viewer).
pub async fn read(state: &AppState, caller: &Caller, uri: &str) -> ApiResult<ReadResourceResult> {
    caller.require(Role::Viewer)?;
    let value = super::tools::board_state(state, board_id(uri)?).await?;
    let contents = ResourceContents::TextResourceContents {
        uri: uri.to_owned(),
        mime_type: Some("application/json".into()),
        text: value.to_string(),
        meta: None,
    };
    Ok(ReadResourceResult::new(vec![contents]))
}

pub struct Subscribe<'a> {
    pub state: &'a AppState,
    pub caller: &'a Caller,
    pub uri: &'a str,
    pub peer: Peer<RoleServer>,
}

/// Relay the board's commits to the session until it unsubscribes or goes away (viewer; the
/// board must exist). Subscribing twice to one URI keeps one relay.
pub async fn subscribe(sub: Subscribe<'_>, subscriptions: &Subscriptions) -> ApiResult<()> {
    sub.caller.require(Role::Viewer)?;
    let id = board_id(sub.uri)?;
    db::boards::get(&sub.state.db, id).await?;
    // Subscribed before answering, so a change committed after the reply is never missed.
    let mut channel = sub.state.hub.subscribe(Topic::Board(id));
    let uri = sub.uri.to_owned();
    let peer = sub.peer;
    let relay_uri = uri.clone();
    let task = tokio::spawn(async move {
        loop {
            match channel.rx.recv().await {
                // A lagging relay has missed frames, but "updated" needs no detail: notify once.
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    let note = ResourceUpdatedNotificationParam::new(relay_uri.clone());
                    if peer.notify_resource_updated(note).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    let mut map = subscriptions.0.lock().map_err(|_| ApiError::internal("subscription map poisoned"))?;
    if let Some(old) = map.insert(uri, task.abort_handle()) {
        old.abort();
    }
    Ok(())
}

pub fn unsubscribe(subscriptions: &Subscriptions, uri: &str) {
    if let Ok(mut map) = subscriptions.0.lock()
        && let Some(task) = map.remove(uri)
    {
        task.abort();
    }
}
