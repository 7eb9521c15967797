//! Automated response pages: the action queue with approve, reject and revoke, the policies in
//! force, connector health, and one page per action with why it happened, its plan and every
//! state it went through.

use super::{error_page, redirect_or_error, render, Choice, I18n, Nav, SignedIn};
use crate::error::ApiResult;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use hikeshi_app::response::{self, decide::ActionList, ActionView, Policy};
use hikeshi_model::ActionState;
use hikeshi_store::{ConnectorHealth, ResponseAction};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/response", get(queue))
        .route("/response/actions/{id}", get(action))
        .route("/response/actions/{id}/{decision}", post(decide))
}

#[derive(Template)]
#[template(path = "response.html")]
struct QueuePage {
    i: I18n,
    nav: Option<Nav>,
    rows: Vec<ResponseAction>,
    policies: Vec<Policy>,
    connectors: Vec<ConnectorHealth>,
    states: Vec<Choice>,
    state: String,
    csrf: String,
    can_decide: bool,
}

#[derive(Deserialize)]
struct QueueQuery {
    #[serde(default)]
    state: String,
}

async fn queue(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<QueueQuery>,
) -> Response {
    let i = s.viewer.i.clone();
    let result: ApiResult<Response> = async {
        let filter = ActionList {
            state: match q.state.as_str() {
                "" => None,
                code => Some(ActionState::parse(code).map_err(hikeshi_app::AppError::from)?),
            },
            ..ActionList::default()
        };
        let rows = response::decide::list(&state, &s.who, &filter).await?;
        let connectors = response::decide::connectors(&state, &s.who).await?;
        Ok(render(&QueuePage {
            rows,
            policies: state.config.response.policies.clone(),
            connectors,
            states: ActionState::ALL
                .iter()
                .map(|st| Choice {
                    code: st.code().into(),
                    label: i.label("action_state", st.code()),
                })
                .collect(),
            state: q.state.clone(),
            csrf: s.who.csrf_token.clone().unwrap_or_default(),
            can_decide: s.who.role.can_edit_cases(),
            nav: Some(s.nav.clone()),
            i: i.clone(),
        }))
    }
    .await;
    result.unwrap_or_else(|e| error_page(&i, Some(s.nav), e))
}

#[derive(Template)]
#[template(path = "response_action.html")]
struct ActionPage {
    i: I18n,
    nav: Option<Nav>,
    view: ActionView,
    /// The state each audit entry moved the action to, beside the entry.
    moves: Vec<(i64, String, String)>,
    csrf: String,
    can_decide: bool,
}

async fn action(State(state): State<AppState>, s: SignedIn, Path(id): Path<String>) -> Response {
    let i = s.viewer.i.clone();
    let result: ApiResult<Response> = async {
        let view = response::decide::view(&state, &s.who, &id).await?;
        let moves = view
            .history
            .iter()
            .map(|e| {
                let st = e.action.trim_start_matches("response.").to_string();
                (e.at, e.actor.clone(), st)
            })
            .collect();
        Ok(render(&ActionPage {
            view,
            moves,
            csrf: s.who.csrf_token.clone().unwrap_or_default(),
            can_decide: s.who.role.can_edit_cases(),
            nav: Some(s.nav.clone()),
            i: i.clone(),
        }))
    }
    .await;
    result.unwrap_or_else(|e| error_page(&i, Some(s.nav), e))
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf: String,
    #[serde(default)]
    plan_hash: String,
}

async fn decide(
    State(state): State<AppState>,
    s: SignedIn,
    Path((id, decision)): Path<(String, String)>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let result: ApiResult<ResponseAction> = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let done = match decision.as_str() {
            "approve" => response::approve(&state, &s.who, &id, &f.plan_hash).await?,
            "reject" => response::reject(&state, &s.who, &id).await?,
            "revoke" => response::revoke(&state, &s.who, &id).await?,
            _ => {
                return Err(hikeshi_app::AppError::not_found(format!("decision {decision}")).into())
            }
        };
        Ok(done)
    }
    .await;
    redirect_or_error(&s.viewer.i, s.nav, result, |a| {
        format!("/response/actions/{}", a.id)
    })
}
