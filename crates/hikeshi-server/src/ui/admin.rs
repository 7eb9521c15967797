//! Administration pages: users, API tokens, the audit log.

use super::{error_page, render, see_other, Choice, I18n, Nav, SignedIn};
use crate::error::{ApiError, ApiResult};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use hikeshi_app::users::{self, UserChange};
use hikeshi_model::{Role, TokenScope};
use hikeshi_store::{ApiToken, AuditEntry, AuditQuery, User};
use serde::Deserialize;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users_page).post(user_create))
        .route("/admin/users/{name}", post(user_change))
        .route("/admin/tokens", get(tokens_page).post(token_create))
        .route("/admin/tokens/{id}/revoke", post(token_revoke))
        .route("/admin/audit", get(audit_page))
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    i: I18n,
    nav: Option<Nav>,
    users: Vec<User>,
    roles: Vec<Choice>,
}

async fn users_page(State(state): State<AppState>, s: SignedIn) -> Response {
    let i = s.viewer.i.clone();
    let result: ApiResult<Response> = async {
        let users = users::list_users(&state, &s.who).await?;
        s.who.require_admin("administer hikeshi")?;
        let roles = Role::ALL
            .iter()
            .map(|r| Choice {
                code: r.code().into(),
                label: i.label("role", r.code()),
            })
            .collect();
        Ok(render(&UsersPage {
            users,
            roles,
            nav: Some(s.nav.clone()),
            i: i.clone(),
        }))
    }
    .await;
    result.unwrap_or_else(|e| error_page(&i, Some(s.nav), e))
}

#[derive(Deserialize)]
struct NewUserForm {
    csrf: String,
    username: String,
    #[serde(default)]
    display_name: String,
    role: String,
    password: String,
}

async fn user_create(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<NewUserForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let result: ApiResult<User> = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let role = Role::parse(&f.role)?;
        Ok(users::create_user(
            &state,
            &s.who,
            &f.username,
            &f.display_name,
            role,
            &f.password,
        )
        .await?)
    }
    .await;
    match result {
        Ok(_) => see_other("/admin/users"),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}

#[derive(Deserialize)]
struct UserChangeForm {
    csrf: String,
    action: String,
    #[serde(default)]
    role: String,
}

async fn user_change(
    State(state): State<AppState>,
    s: SignedIn,
    Path(name): Path<String>,
    Form(f): Form<UserChangeForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let result: ApiResult<User> = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let change = match f.action.as_str() {
            "disable" => UserChange::Disable,
            "enable" => UserChange::Enable,
            "role" => UserChange::Role(Role::parse(&f.role)?),
            other => {
                return Err(ApiError::invalid(
                    "action",
                    format!("action: unknown value `{other}`"),
                ))
            }
        };
        Ok(users::change_user(&state, &s.who, &name, change).await?)
    }
    .await;
    match result {
        Ok(_) => see_other("/admin/users"),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct TokensPage {
    i: I18n,
    nav: Option<Nav>,
    tokens: Vec<(ApiToken, String)>,
    new_token: String,
}

async fn tokens_view(state: &AppState, s: &SignedIn, new_token: String) -> ApiResult<Response> {
    let tokens = users::list_tokens(state, &s.who).await?;
    Ok(render(&TokensPage {
        i: s.viewer.i.clone(),
        nav: Some(s.nav.clone()),
        tokens,
        new_token,
    }))
}

async fn tokens_page(State(state): State<AppState>, s: SignedIn) -> Response {
    tokens_view(&state, &s, String::new())
        .await
        .unwrap_or_else(|e| error_page(&s.viewer.i, Some(s.nav.clone()), e))
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: String,
    name: String,
    #[serde(default)]
    scope: String,
}

/// Creates a token for the signed-in user and shows it once.
async fn token_create(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<TokenForm>,
) -> Response {
    let result: ApiResult<Response> = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let scope = match f.scope.as_str() {
            "" => TokenScope::Full,
            code => TokenScope::parse(code)?,
        };
        let token = users::create_token(&state, &s.who, &f.name, scope).await?;
        tokens_view(&state, &s, token).await
    }
    .await;
    result.unwrap_or_else(|e| error_page(&s.viewer.i, Some(s.nav.clone()), e))
}

async fn token_revoke(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<super::CsrfOnly>,
) -> Response {
    let result: ApiResult<()> = async {
        s.who.check_csrf(Some(&f.csrf))?;
        users::revoke_token(&state, &s.who, &id).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => see_other("/admin/tokens"),
        Err(e) => error_page(&s.viewer.i, Some(s.nav), e),
    }
}

/// One audit entry as the page shows it: the action in words and the fields that changed.
pub(super) struct AuditRow {
    pub(super) at: i64,
    pub(super) actor: String,
    pub(super) action: String,
    pub(super) object_type: String,
    pub(super) object_id: String,
    pub(super) changes: Vec<hikeshi_app::audit_diff::FieldChange>,
}

impl AuditRow {
    pub(super) fn new(i: &I18n, e: AuditEntry) -> Self {
        let key = format!("audit.{}", e.action);
        let label = i.t(&key);
        AuditRow {
            changes: hikeshi_app::audit_diff::field_changes(
                e.before_json.as_deref(),
                e.after_json.as_deref(),
            ),
            // An action without words yet is shown by its code rather than by the missing key.
            action: if label == key { e.action } else { label },
            at: e.at,
            actor: e.actor,
            object_type: e.object_type,
            object_id: e.object_id,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    i: I18n,
    nav: Option<Nav>,
    rows: Vec<AuditRow>,
    page: i64,
    more: bool,
    object_id: String,
    actor: String,
    /// The filter as a query string, for the pager's links.
    filter_query: String,
}

#[derive(Deserialize)]
struct AuditPageQuery {
    page: Option<i64>,
    object_id: Option<String>,
    actor: Option<String>,
}

const AUDIT_PAGE: i64 = 100;

async fn audit_page(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<AuditPageQuery>,
) -> Response {
    let i = s.viewer.i.clone();
    let result: ApiResult<Response> = async {
        let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| v.chars().take(200).collect::<String>())
        };
        let object_id = given(&q.object_id);
        let actor = given(&q.actor);
        // One entry more than a page tells whether there is a next page.
        let query = AuditQuery {
            object_id: object_id.clone(),
            actor: actor.clone(),
            limit: AUDIT_PAGE + 1,
            offset: (page - 1) * AUDIT_PAGE,
            ..Default::default()
        };
        let mut entries = users::audit_entries(&state, &s.who, &query).await?;
        let more = entries.len() as i64 > AUDIT_PAGE;
        entries.truncate(AUDIT_PAGE as usize);
        let object_id = object_id.unwrap_or_default();
        let actor = actor.unwrap_or_default();
        let filter_query = format!(
            "object_id={}&actor={}",
            urlencoding::encode(&object_id),
            urlencoding::encode(&actor)
        );
        Ok(render(&AuditPage {
            rows: entries.into_iter().map(|e| AuditRow::new(&i, e)).collect(),
            i: i.clone(),
            nav: Some(s.nav.clone()),
            page,
            more,
            object_id,
            actor,
            filter_query,
        }))
    }
    .await;
    result.unwrap_or_else(|e| error_page(&i, Some(s.nav), e))
}
