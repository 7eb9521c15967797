//! Administration pages: users, API tokens, the audit log.

use super::{error_page, render, see_other, Choice, I18n, Nav, SignedIn};
use crate::auth::{new_api_token, token_digest};
use crate::error::{ApiError, ApiResult};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use hikeshi_model::Role;
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

fn admin_only(s: &SignedIn) -> ApiResult<()> {
    s.who.require(s.who.role.is_admin(), "administer hikeshi")
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
        admin_only(&s)?;
        let roles = Role::ALL
            .iter()
            .map(|r| Choice {
                code: r.code().into(),
                label: i.label("role", r.code()),
            })
            .collect();
        Ok(render(&UsersPage {
            users: state.store.list_users().await?,
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
        crate::api::create_user_checked(
            &state,
            &s.who,
            &f.username,
            &f.display_name,
            role,
            &f.password,
        )
        .await
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
        admin_only(&s)?;
        let actor = s.who.actor();
        if name == s.who.user.username && f.action != "role" {
            return Err(ApiError::invalid("action", "you cannot disable yourself"));
        }
        Ok(match f.action.as_str() {
            "disable" => state.store.set_user_disabled(&name, true, &actor).await?,
            "enable" => state.store.set_user_disabled(&name, false, &actor).await?,
            "role" => {
                state
                    .store
                    .set_user_role(&name, Role::parse(&f.role)?.code(), &actor)
                    .await?
            }
            other => {
                return Err(ApiError::invalid(
                    "action",
                    format!("action: unknown value `{other}`"),
                ))
            }
        })
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
    // Admins see every token; others see their own.
    let filter = (!s.who.role.is_admin()).then(|| s.who.user.id.clone());
    let users = state.store.list_users().await?;
    let tokens = state
        .store
        .list_api_tokens(filter.as_deref())
        .await?
        .into_iter()
        .map(|t| {
            let owner = users
                .iter()
                .find(|u| u.id == t.user_id)
                .map(|u| u.username.clone())
                .unwrap_or_default();
            (t, owner)
        })
        .collect();
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
}

/// Creates a token for the signed-in user and shows it once.
async fn token_create(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<TokenForm>,
) -> Response {
    let result: ApiResult<Response> = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let name = crate::service::text_field("name", &f.name, true, 100)?;
        let token = new_api_token();
        state
            .store
            .create_api_token(&s.who.user, &name, &token_digest(&token), &s.who.actor())
            .await?;
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
        let own = state
            .store
            .list_api_tokens(Some(&s.who.user.id))
            .await?
            .iter()
            .any(|t| t.id == id);
        s.who
            .require(own || s.who.role.is_admin(), "revoke other users' tokens")?;
        state.store.revoke_api_token(&id, &s.who.actor()).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => see_other("/admin/tokens"),
        Err(e) => error_page(&s.viewer.i, Some(s.nav), e),
    }
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    i: I18n,
    nav: Option<Nav>,
    entries: Vec<AuditEntry>,
    page: i64,
    object_id: String,
}

#[derive(Deserialize)]
struct AuditPageQuery {
    page: Option<i64>,
    object_id: Option<String>,
}

const AUDIT_PAGE: i64 = 100;

async fn audit_page(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<AuditPageQuery>,
) -> Response {
    let i = s.viewer.i.clone();
    let result: ApiResult<Response> = async {
        admin_only(&s)?;
        let page = q.page.unwrap_or(1).max(1);
        let object_id = q.object_id.clone().filter(|o| !o.trim().is_empty());
        let entries = state
            .store
            .audit_entries(&AuditQuery {
                object_id: object_id.clone(),
                limit: AUDIT_PAGE,
                offset: (page - 1) * AUDIT_PAGE,
                ..Default::default()
            })
            .await?;
        Ok(render(&AuditPage {
            i: i.clone(),
            nav: Some(s.nav.clone()),
            entries,
            page,
            object_id: object_id.unwrap_or_default(),
        }))
    }
    .await;
    result.unwrap_or_else(|e| error_page(&i, Some(s.nav), e))
}
