//! The OpenAPI 3 description of `/api/v1`, served at `/api/v1/openapi.json`. Written by hand
//! beside the routes; the API tests check that every route they use is described.

use axum::Json;
use serde_json::{json, Value};

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn op(summary: &str, tag: &str, body: Option<&str>, ok: (&str, &str)) -> Value {
    let mut op = json!({
        "summary": summary,
        "tags": [tag],
        "responses": {
            ok.0: {"description": ok.1},
            "400": error_response("invalid input; `field` names it"),
            "401": error_response("not authenticated"),
            "403": error_response("role not allowed, or CSRF token missing"),
            "404": error_response("not found"),
            "413": error_response("body too large")
        }
    });
    if let Some(schema) = body {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
    }
    op
}

/// An operation with its parameters.
/// The case number and the share's choices: audience, summary, victim details.
fn share_params() -> Vec<Value> {
    vec![
        number_param(),
        query(
            "audience",
            json!({"type": "string", "enum": ["organisation", "client_partner", "partner", "community", "public"], "default": "partner"}),
        ),
        query(
            "include_summary",
            json!({"type": "boolean", "default": false}),
        ),
        query(
            "keep_victim_details",
            json!({"type": "boolean", "default": false}),
        ),
    ]
}

fn with(mut op: Value, params: Vec<Value>) -> Value {
    op["parameters"] = Value::Array(params);
    op
}

/// A second success answer beside the first.
fn also(mut op: Value, code: &str, description: &str) -> Value {
    op["responses"][code] = json!({"description": description});
    op
}

fn number_param() -> Value {
    json!({"name": "number", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{4,}$"}, "example": "2026-0001"})
}

fn query(name: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema})
}

fn path_id(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}

/// An integer query parameter: any value the server's type holds, with what it does past the
/// useful range in words (the server clamps rather than refuses).
fn int_query(name: &str, max: u64, description: &str) -> Value {
    let schema = if max == I64_MAX {
        json!({"type": "integer", "format": "int64"})
    } else {
        json!({"type": "integer", "minimum": 0, "maximum": max})
    };
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

const U32_MAX: u64 = u32::MAX as u64;
const I64_MAX: u64 = i64::MAX as u64;

fn enum_of(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| code(*v)).collect()
}

pub fn spec() -> Value {
    use hikeshi_model::*;
    let severity = enum_of(&codes(Severity::ALL, Severity::code));
    let status = enum_of(&codes(CaseStatus::ALL, CaseStatus::code));
    let tlp = enum_of(&codes(Tlp::ALL, Tlp::code));
    let pap = enum_of(&codes(Pap::ALL, Pap::code));
    let phase = enum_of(&codes(Phase::ALL, Phase::code));
    let task_status = enum_of(&codes(TaskStatus::ALL, TaskStatus::code));
    let obs_kind = enum_of(&codes(ObservableKind::ALL, ObservableKind::code));
    let tl_kind = enum_of(&codes(TimelineKind::ALL, TimelineKind::code));

    let mut list_cases = op(
        "List cases, newest first",
        "cases",
        None,
        ("200", "a page of cases"),
    );
    list_cases["parameters"] = json!([
        query("status", status.clone()),
        query("severity", severity.clone()),
        query("category", json!({"type": "string"})),
        query("assignee", json!({"type": "string"})),
        query("tag", json!({"type": "string"})),
        query(
            "q",
            json!({"type": "string", "description": "substring of number, title, description, tags; Japanese works"})
        ),
        int_query("page", U32_MAX, "from 1; 0 counts as 1"),
        int_query(
            "per_page",
            U32_MAX,
            "cases per page, 50 by default; clamped to 1–200"
        )
    ]);
    let with_number = |mut v: Value| {
        v["parameters"] = json!([number_param()]);
        v
    };
    json!({
        "openapi": "3.0.3",
        "info": {"title": "hikeshi API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Cases, tasks, timeline, observables, evidence, audit, reports (the point of contact), contacts and escalation of hikeshi. Authenticate with `Authorization: Bearer <token>` (see `hikeshi token create`)."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/me": {"get": op("The calling user", "users", None, ("200", "the user"))},
            "/api/v1/cases": {
                "get": list_cases,
                "post": op("Create a case, optionally from a template", "cases", Some("CreateCase"), ("201", "the new case"))
            },
            "/api/v1/cases/{number}": {
                "get": with_number(op("A case with tasks, timeline, observables, links, evidence and comments", "cases", None, ("200", "the case"))),
                "patch": with_number(op("Change a case; closing needs resolution_summary and lessons_learned", "cases", Some("UpdateCase"), ("200", "the changed case")))
            },
            "/api/v1/cases/{number}/tasks": {"post": with_number(op("Add a task", "tasks", Some("Task"), ("201", "the task")))},
            "/api/v1/cases/{number}/tasks/{task_id}": {"patch": with(op("Change a task", "tasks", Some("TaskUpdate"), ("200", "the task")), vec![number_param(), path_id("task_id")])},
            "/api/v1/cases/{number}/timeline": {"post": with_number(op("Add a timeline entry", "timeline", Some("TimelineEntry"), ("201", "the entry")))},
            "/api/v1/cases/{number}/timeline.csv": {"get": with_number(op("The timeline as CSV", "timeline", None, ("200", "text/csv")))},
            "/api/v1/cases/{number}/observables": {"post": with_number(also(op("Add an observable (deduplicated per case; 200 if it existed)", "observables", Some("Observable"), ("201", "the observable")), "200", "the observable that was already there"))},
            "/api/v1/cases/{number}/observables/{id}": {"delete": with(op("Remove an observable", "observables", None, ("204", "removed")), vec![number_param(), path_id("id")])},
            "/api/v1/cases/{number}/comments": {"post": with_number(op("Add a comment", "cases", Some("Comment"), ("201", "the comment")))},
            "/api/v1/cases/{number}/merge": {"post": with_number(op("Merge this case into another", "cases", Some("Merge"), ("200", "the surviving case")))},
            "/api/v1/cases/{number}/evidence": {"post": {
                "summary": "Upload evidence (multipart: file, description)", "tags": ["evidence"],
                "parameters": [number_param()],
                "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}, "description": {"type": "string"}}, "required": ["file"]}}}},
                "responses": {"201": {"description": "the evidence record with its SHA-256"}, "413": error_response("file over the upload limit")}
            }},
            "/api/v1/cases/{number}/share": {"get": with(op("What a share of the case to this audience would carry, and why the rest stays behind (TLP, victim details)", "sharing", None, ("200", "leaving and withheld observables with reasons")), share_params())},
            "/api/v1/cases/{number}/stix": {"get": with(also(op("The case as a STIX 2.1 report bundle (application/stix+json;version=2.1) of what the egress gate lets out for the audience; audited", "sharing", None, ("200", "the bundle")), "409", "the case's own TLP forbids this audience"), share_params())},
            "/api/v1/cases/{number}/misp": {"get": with(also(op("The case as a MISP event ({\"Event\": …}) of what the egress gate lets out for the audience; TLP as tlp: tags; audited", "sharing", None, ("200", "the event")), "409", "the case's own TLP forbids this audience"), share_params())},
            "/api/v1/stix/import": {"post": {
                "summary": "A partner's STIX 2.1 bundle (at most 10 MiB) becomes a case: the report's title and text, indicators and observables with their TLP; what hikeshi cannot hold is listed with the reason", "tags": ["sharing"],
                "requestBody": {"required": true, "content": {"application/stix+json": {"schema": {"type": "object"}}, "application/json": {"schema": {"type": "object"}}}},
                "responses": {"201": {"description": "the case number, TLP, observables read and objects skipped"}, "400": error_response("not a STIX bundle; the message names the line or field"), "413": error_response("over 10 MiB")}
            }},
            "/api/v1/evidence/{id}": {"get": with(op("Download evidence (recorded in the chain of custody)", "evidence", None, ("200", "the bytes")), vec![path_id("id")])},
            "/api/v1/evidence/{id}/custody": {"get": with(op("Chain of custody of one piece of evidence", "evidence", None, ("200", "custody entries")), vec![path_id("id")])},
            "/api/v1/categories": {
                "get": op("Incident categories (JPCERT/CC and the team's own)", "settings", None, ("200", "categories")),
                "post": op("Add a team-defined category (manager, admin)", "settings", Some("Category"), ("201", "the category"))
            },
            "/api/v1/templates": {"get": op("Case templates", "settings", None, ("200", "templates"))},
            "/api/v1/users": {"get": op("Users (manager, admin)", "users", None, ("200", "users"))},
            "/api/v1/audit": {"get": op("The audit log, newest first (admin); format=json|csv", "audit", None, ("200", "entries"))},
            "/api/v1/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3"}}}}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}, "required": ["code", "message"]}}},
                "CreateCase": {"type": "object", "required": ["title"], "additionalProperties": false, "properties": {
                    "title": {"type": "string", "maxLength": hikeshi_app::validate::MAX_TITLE}, "description": {"type": "string", "description": "Markdown"},
                    "category": {"type": "string"}, "severity": severity, "tlp": tlp, "pap": pap, "phase": phase,
                    "assignee": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
                    "affected_assets": {"type": "string"}, "template": {"type": "string"},
                    "source": enum_of(&codes(CaseSource::ALL, CaseSource::code)), "business_impact": {"type": "string"}}},
                "UpdateCase": {"type": "object", "additionalProperties": false, "properties": {
                    "title": {"type": "string"}, "description": {"type": "string"}, "category": {"type": "string"},
                    "severity": {"$ref": "#/components/schemas/CreateCase/properties/severity"}, "status": status,
                    "tlp": tlp.clone(), "pap": pap.clone(), "phase": phase.clone(),
                    "assignee": {"type": "string", "description": "empty string unassigns"},
                    "tags": {"type": "array", "items": {"type": "string"}}, "affected_assets": {"type": "string"},
                    "resolution_summary": {"type": "string"}, "lessons_learned": {"type": "string"},
                    "business_impact": {"type": "string"}}},
                "Task": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}, "assignee": {"type": "string"}, "due_at": {"type": "string", "format": "date-time"}}},
                "TaskUpdate": {"type": "object", "properties": {"title": {"type": "string"}, "assignee": {"type": "string"}, "status": task_status, "due_at": {"type": "string", "format": "date-time"}}},
                "TimelineEntry": {"type": "object", "required": ["kind", "text"], "properties": {"occurred_at": {"type": "string", "format": "date-time"}, "kind": tl_kind, "text": {"type": "string"}}},
                "Observable": {"type": "object", "required": ["kind", "value"], "properties": {"kind": obs_kind, "value": {"type": "string"}, "description": {"type": "string"}, "tlp": {"type": "string"}, "ioc": {"type": "boolean"}}},
                "Comment": {"type": "object", "required": ["body"], "properties": {"body": {"type": "string"}}},
                "Merge": {"type": "object", "required": ["into"], "properties": {"into": {"type": "string", "example": "2026-0001"}}},
                "Category": {"type": "object", "required": ["code", "label_ja", "label_en"], "properties": {"code": {"type": "string", "pattern": "^[a-z0-9_]{2,40}$"}, "label_ja": {"type": "string"}, "label_en": {"type": "string"}}}
            }
        }
    })
}

/// The point of contact's paths and schemas, merged into the document.
fn intake_part() -> (Value, Value) {
    use hikeshi_model::*;
    let tlp = enum_of(&codes(Tlp::ALL, Tlp::code));
    let severity = enum_of(&codes(Severity::ALL, Severity::code));
    let role = enum_of(&codes(ContactRole::ALL, ContactRole::code));
    let report_status = enum_of(&codes(ReportStatus::ALL, ReportStatus::code));
    let tracking = || json!({"name": "tracking", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^HK-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$"}});
    let paths = json!({
        "/api/v1/reports": {
            "get": with(op("Reports, newest first (status=new|case|attached|rejected|spam)", "reports", None, ("200", "reports")),
                vec![query("status", report_status), int_query("limit", I64_MAX, "at most this many")]),
            "post": op("File a report (any token); the reporter is acknowledged if they gave an e-mail address", "reports", Some("Report"), ("201", "tracking number, status and suggested category"))
        },
        "/api/v1/reports/{tracking}": {"get": with(op("A report with its indicators, attachments, duplicates and later e-mail", "reports", None, ("200", "the report")), vec![tracking()])},
        "/api/v1/reports/{tracking}/case": {"post": with(op("Open a case from the report (409 if already decided); the reporter's name and contact are copied into the case only with include_reporter=true", "reports", None, ("201", "the case")), vec![tracking(), query("include_reporter", json!({"type": "boolean", "default": false}))])},
        "/api/v1/reports/{tracking}/attach": {"post": with(op("Add the report to an existing case", "reports", Some("Attach"), ("200", "the case")), vec![tracking()])},
        "/api/v1/reports/{tracking}/reject": {"post": with(op("Reject with a reason; the reporter is told", "reports", Some("Reason"), ("200", "the report")), vec![tracking()])},
        "/api/v1/reports/{tracking}/spam": {"post": with(op("Mark as spam", "reports", None, ("200", "the report")), vec![tracking()])},
        "/api/v1/team": {
            "get": op("The team profile (scope, services, contact)", "team", None, ("200", "key/value pairs")),
            "put": op("Set team profile entries (admin)", "team", Some("Team"), ("200", "the profile"))
        },
        "/api/v1/mail": {"get": op("The outgoing mail queue (manager, admin)", "mail", None, ("200", "messages with status queued|sent|failed"))},
        "/api/v1/events": {"post": {"summary": "Live events: NDJSON, one JSON object per line (at most 10 MiB); answers after the alerts are committed", "tags": ["alerts"],
            "requestBody": {"required": false, "content": {"application/x-ndjson": {"schema": {"type": "string"}}, "application/json": {"schema": {"description": "one event; a line that is not a JSON object is listed under `invalid`"}}}},
            "responses": {"200": {"description": "accepted, invalid (line numbers and reasons), hits, alerts_created, repeated (hits of a body sent before), suppressed"}, "413": error_response("body over 10 MiB"), "503": error_response("no rules loaded (serve --rules)")}}},
        "/api/v1/alerts/{id}": {"patch": {"summary": "Acknowledge, close or mark an alert a false positive (reason required); audited", "tags": ["alerts"],
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {
                "status": enum_of(&["acknowledged", "false_positive", "closed", "new"]), "reason": {"type": "string"}}}}}},
            "responses": {"200": {"description": "the alert"}, "400": error_response("invalid status or missing reason"), "403": error_response("role not allowed")}}},
        "/api/v1/alerts": {"get": with(op("Alerts, most recently seen first; status takes one state or several separated by commas (new, acknowledged, escalated, false_positive, closed, suppressed)", "alerts", None, ("200", "alerts with count and kept events")),
            vec![query("status", json!({"type": "string"})), query("level", json!({"type": "string"})), query("rule", json!({"type": "string"})), query("host", json!({"type": "string"})), int_query("limit", I64_MAX, "at most this many")])},
        "/api/v1/contacts": {
            "get": op("The contact directory", "contacts", None, ("200", "contacts")),
            "post": op("Add a contact (manager, admin)", "contacts", Some("Contact"), ("201", "the contact"))
        },
        "/api/v1/escalation": {
            "get": op("The escalation matrix", "contacts", None, ("200", "rules")),
            "post": op("Add a rule (manager, admin)", "contacts", Some("EscalationRule"), ("201", "the rule"))
        },
        "/api/v1/cases/{number}/escalation": {"get": with(op("The case's escalation checklist", "contacts", None, ("200", "checklist items")), vec![number_param()])},
        "/api/v1/cases/{number}/notify": {"post": with(op("Record a notification (by e-mail: also queued to the contact)", "contacts", Some("Notify"), ("201", "the notification")), vec![number_param()])},
        "/api/v1/cases/{number}/outbound-report": {
            "get": with(op("A JPCERT/CC or IPA report filled from the case", "cases", None, ("200", "form, lang, text")),
                vec![number_param(), query("form", enum_of(&["jpcert", "ipa"])), query("lang", enum_of(&["ja", "en"]))]),
            "post": with(op("Record a report as sent (kept as a comment, noted on the timeline)", "cases", Some("ReportSent"), ("201", "recorded")), vec![number_param()])
        }
    });
    let schemas = json!({
        "Report": {"type": "object", "required": ["subject", "body"], "additionalProperties": false, "properties": {
            "subject": {"type": "string", "maxLength": 200}, "body": {"type": "string", "maxLength": 20000},
            "reporter_name": {"type": "string"}, "reporter_contact": {"type": "string", "description": "e-mail address (checked) or other contact"},
            "reporter_org": {"type": "string"}, "occurred": {"type": "string"}, "affected": {"type": "string"},
            "indicators": {"type": "string"}, "tlp": tlp, "lang": {"type": "string", "enum": ["ja", "en"], "nullable": true},
            "kind": {"type": "string", "enum": ["incident", "product_vulnerability"], "nullable": true, "description": "a vulnerability in the team's own products goes to the PSIRT"},
            "credit": {"type": "string", "maxLength": 500, "description": "how a researcher wants to be named in the advisory"}}},
        "Attach": {"type": "object", "required": ["case"], "properties": {"case": {"type": "string", "example": "2026-0001"}}},
        "Reason": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}},
        "Team": team_schema(),
        "Contact": {"type": "object", "required": ["name", "role"], "additionalProperties": false, "properties": {
            "name": {"type": "string"}, "organisation": {"type": "string"}, "role": role, "email": {"type": "string"},
            "phone": {"type": "string"}, "pgp_fingerprint": {"type": "string"}, "notes": {"type": "string"}}},
        "EscalationRule": {"type": "object", "required": ["min_severity", "contact_id"], "properties": {
            "category": {"type": "string", "description": "empty: every category"}, "min_severity": severity, "contact_id": {"type": "string"}}},
        "Notify": {"type": "object", "required": ["contact_id", "channel"], "properties": {
            "contact_id": {"type": "string"}, "channel": enum_of(&["email", "phone", "meeting", "other"]), "note": {"type": "string"}}},
        "ReportSent": {"type": "object", "required": ["form", "text", "sent_to"], "properties": {
            "form": enum_of(&["jpcert", "ipa"]), "text": {"type": "string"}, "sent_to": {"type": "string"}}}
    });
    (paths, schemas)
}

/// The team profile's keys, each a text of at most `MAX_VALUE` characters.
fn team_schema() -> Value {
    let mut props = serde_json::Map::new();
    for key in hikeshi_app::team::KEYS {
        let mut schema = json!({"type": "string", "maxLength": hikeshi_app::team::MAX_VALUE});
        if *key == "cve_org_id" {
            schema["pattern"] = json!("^([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-4[0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12})?$");
        }
        props.insert(key.to_string(), schema);
    }
    json!({"type": "object", "additionalProperties": false, "properties": props})
}

/// Live monitoring's paths beyond ingest and listing: the queue's actions, suppressions,
/// rule reload, the change feed and the metrics.
fn live_part() -> (Value, Value) {
    let id = |name: &str| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}});
    let paths = json!({
        "/api/v1/alerts/{id}": {"get": with(op("One alert with its kept events, addresses, case and suppression", "alerts", None, ("200", "the alert")), vec![id("id")])},
        "/api/v1/alerts/bulk": {"post": op("Set one state on up to 500 alerts (acknowledged, closed, new, or false_positive with a reason); each change audited", "alerts", Some("AlertBulk"), ("200", "the alerts"))},
        "/api/v1/alerts/escalate": {"post": op("Put alerts on a new case, or on `case`; host, user and addresses become observables", "alerts", Some("AlertEscalate"), ("200", "the case"))},
        "/api/v1/alerts/stream": {"get": {"summary": "Server-Sent Events: `changed` whenever alerts were added or changed (on any node)", "tags": ["alerts"],
            "responses": {"200": {"description": "text/event-stream"}}}},
        "/api/v1/suppressions": {
            "get": op("Suppression rules, newest first, with their hit counts (expired and revoked ones too)", "alerts", None, ("200", "suppressions")),
            "post": op("Add a suppression rule: a rule id, host or field value, a reason, and 1 to 366 days; audited", "alerts", Some("Suppression"), ("201", "the suppression"))
        },
        "/api/v1/suppressions/{id}/revoke": {"post": with(op("End a suppression early (409 if already revoked); audited", "alerts", None, ("200", "the suppression")), vec![id("id")])},
        "/api/v1/rules/reload": {"post": op("Load the rule folders and indicator lists again (admin); same as SIGHUP", "alerts", None, ("200", "what was loaded"))},
        "/metrics": {"get": {"summary": "Prometheus text: events received/parsed/invalid/dropped per source, hits, alerts, queue depth, pipeline latency; response actions by state, reconcile passes, drift repaired and failures", "tags": ["alerts"], "security": [],
            "responses": {"200": {"description": "text/plain; version=0.0.4"}}}}
    });
    let schemas = json!({
        "AlertBulk": {"type": "object", "required": ["alert_ids", "status"], "additionalProperties": false, "properties": {
            "alert_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 500},
            "status": enum_of(&["new", "acknowledged", "false_positive", "closed"]), "reason": {"type": "string"}}},
        "AlertEscalate": {"type": "object", "required": ["alert_ids"], "additionalProperties": false, "properties": {
            "alert_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 500},
            "case": {"type": "string", "example": "2026-0001"}, "title": {"type": "string"}}},
        "Suppression": {"type": "object", "required": ["reason", "days"], "additionalProperties": false, "properties": {
            "rule_id": {"type": "string"}, "host": {"type": "string", "description": "case-insensitive"},
            "field": {"type": "string", "description": "event field; with `value`"}, "value": {"type": "string"},
            "reason": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 366}}}
    });
    (paths, schemas)
}

/// Automated response: the action queue and its decisions.
fn response_part() -> (Value, Value) {
    use hikeshi_model::ActionState;
    let id = || json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}});
    let mut list = op("Response actions, newest first: why (alert, policy and version), plan and hash, state, expiry, what the connector answered", "response", None, ("200", "actions"));
    list["parameters"] = json!([
        query(
            "state",
            enum_of(&codes(ActionState::ALL, ActionState::code))
        ),
        query("policy", json!({"type": "string"})),
        query(
            "target",
            json!({"type": "string", "description": "an IP address or range"})
        ),
        int_query("limit", 1000, "at most this many, 200 by default")
    ]);
    let conflict = "not in a state that allows it, or the plan changed (code plan_changed)";
    let paths = json!({
        "/api/v1/response/actions": {"get": list},
        "/api/v1/response/actions/{id}": {"get": with(op("One action with every state it went through (audit entries, oldest first)", "response", None, ("200", "the action and its history")), vec![id()])},
        "/api/v1/response/actions/{id}/approve": {"post": with(also(op("Approve a waiting action for the plan whose hash is given; isolation and patching need someone other than the requester", "response", Some("Approval"), ("200", "the approved action")), "409", conflict), vec![id()])},
        "/api/v1/response/actions/{id}/reject": {"post": with(also(op("Reject a waiting action", "response", None, ("200", "the rejected action")), "409", conflict), vec![id()])},
        "/api/v1/response/actions/{id}/revoke": {"post": with(also(op("End an action now; the reconciler takes it out of force at once (another action on the same target keeps it)", "response", None, ("200", "the revoked action")), "409", conflict), vec![id()])},
        "/api/v1/response/connectors": {"get": op("Each connector's last reconcile: who holds it, elements in force, drift repaired, failures", "response", None, ("200", "connector health"))}
    });
    let schemas = json!({
        "Approval": {"type": "object", "required": ["plan_hash"], "additionalProperties": false, "properties": {
            "plan_hash": {"type": "string", "description": "SHA-256 of the plan shown, from the action"}}}
    });
    (paths, schemas)
}

/// Assets, vulnerabilities and intelligence.
fn assets_part() -> (Value, Value) {
    let id = || json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": "asset id or name"});
    let flag = |name: &str| query(name, json!({"type": "boolean"}));
    let paths = json!({
        "/api/v1/assets": {
            "get": op("The asset inventory", "assets", None, ("200", "assets")),
            "post": op("Add an asset", "assets", Some("Asset"), ("201", "the asset"))
        },
        "/api/v1/assets/{id}": {
            "get": with(op("One asset with its packages, ranked findings, alerts that hit it and expected damage", "assets", None, ("200", "the asset")), vec![id()]),
            "put": with(op("Replace an asset's description (audited)", "assets", Some("Asset"), ("200", "the asset")), vec![id()]),
            "delete": with(op("Remove an asset and its findings (manager, admin; audited)", "assets", None, ("204", "removed")), vec![id()])
        },
        "/api/v1/assets/risk": {"get": op("Assets by expected damage = value × impact × frequency", "assets", None, ("200", "ranking"))},
        "/api/v1/assets.csv": {"get": op("The inventory as CSV (header in the README)", "assets", None, ("200", "text/csv"))},
        "/api/v1/assets/import": {"post": with(op("The inventory from CSV; dry_run=true only reports what would change; any bad cell refuses the file (422, by line and column)", "assets", None, ("200", "created, updated, unchanged")), vec![flag("dry_run")])},
        "/api/v1/findings": {"get": with(op("Findings, highest priority first, each with its reasons; cve= answers which assets have it", "assets", None, ("200", "ranked findings")),
            vec![query("status", enum_of(&["open", "fixed", "all"])), query("cve", json!({"type": "string"})), query("asset", json!({"type": "string"})), flag("kev"), flag("internet_facing"), flag("fix_available"), int_query("limit", I64_MAX, "500 by default; clamped to 1–10,000")])},
        "/api/v1/imports/vulns": {"post": with(op("Import a Vuls (JSON v4), Trivy (JSON schema 2) or CSV report, at most 200 MiB; all or nothing per file, errors name the file and field", "assets", None, ("200", "per host: opened, updated, reopened, fixed; cases opened by the automatic rule")),
            vec![query("name", json!({"type": "string"})), query("format", enum_of(&["vuls", "trivy", "csv"]))])},
        "/api/v1/imports/vuls-http": {"post": op("What `vuls report -to-http` sends: one Vuls scan result per POST, stored under its SHA-256 before the answer and imported by a job; the same body again is not imported twice. Authentication: a bearer token, or Basic with the token as password (http://vuls:TOKEN@host/… in Vuls's config); ingest tokens are accepted. At most `[vulns] http_max_bytes` (64 MiB by default)", "assets", None, ("200", "id (the body's SHA-256), server_name, duplicate, state"))},
        "/api/v1/imports/vuls-http/{id}": {"get": with(op("How a delivery's import went: stored, imported (with what it did) or refused (with why)", "assets", None, ("200", "the delivery")), vec![json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}})])},
        "/api/v1/intel/kev": {"post": op("Load the CISA KEV catalogue (JSON; manager, admin)", "assets", None, ("200", "entries"))},
        "/api/v1/intel/epss": {"post": op("Load EPSS scores (CSV cve,epss,percentile; manager, admin)", "assets", None, ("200", "entries"))}
    });
    let schemas = json!({
        "Asset": {"type": "object", "required": ["name"], "additionalProperties": false, "properties": {
            "name": {"type": "string"}, "kind": enum_of(&codes(hikeshi_model::AssetKind::ALL, hikeshi_model::AssetKind::code)),
            "hostnames": {"type": "array", "items": {"type": "string"}}, "ips": {"type": "array", "items": {"type": "string"}, "description": "addresses or CIDR ranges"},
            "cloud_ids": {"type": "array", "items": {"type": "string"}}, "macs": {"type": "array", "items": {"type": "string"}},
            "administrator": {"type": "string"}, "department": {"type": "string"}, "location": {"type": "string"},
            "environment": enum_of(&codes(hikeshi_model::Environment::ALL, hikeshi_model::Environment::code)), "internet_facing": {"type": "boolean"},
            "value_c": {"type": "integer", "minimum": 1, "maximum": 5}, "value_i": {"type": "integer", "minimum": 1, "maximum": 5}, "value_a": {"type": "integer", "minimum": 1, "maximum": 5},
            "tags": {"type": "array", "items": {"type": "string"}}, "data_held": {"type": "string"}, "os": {"type": "string"}}}
    });
    (paths, schemas)
}

fn month_text() -> Value {
    json!({"type": "string", "pattern": "^2[0-9]{3}-(0[1-9]|1[0-2])$", "example": "2026-04"})
}

/// Management reporting: dashboard, entries, statistics, controls and coverage, maturity,
/// the monthly report and the incident ledger import.
fn reporting_part() -> (Value, Value) {
    use hikeshi_model::reporting::*;
    let month = || {
        query(
            "month",
            json!({"type": "string", "pattern": "^(2[0-9]{3}-(0[1-9]|1[0-2]))?$", "description": "YYYY-MM in the team's time zone; empty or absent: this month"}),
        )
    };
    let id = || json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}});
    let stats_params = || {
        vec![
            query("period", enum_of(&["month", "quarter"])),
            query(
                "at",
                json!({"type": "string", "pattern": "^(2[0-9]{3}-(0[1-9]|1[0-2]))?$", "description": "a month in the period, YYYY-MM; empty or absent: this month"}),
            ),
        ]
    };
    let paths = json!({
        "/api/v1/dashboard": {"get": with(op("The CISO dashboard: four KPI groups with level 1–3, technical and overview rows, remarks and the previous month", "reporting", None, ("200", "the dashboard")), vec![month()])},
        "/api/v1/dashboard/overrides": {"post": op("Override a KPI level for a month with a reason (manager, admin; audited)", "reporting", Some("KpiOverride"), ("201", "the override"))},
        "/api/v1/entries": {
            "get": with(op("Entries of a month (and open HR/physical entries of earlier months)", "reporting", None, ("200", "entries")), vec![month()]),
            "post": op("Record an external, HR, physical or intelligence entry; decisions and plans need manager or admin", "reporting", Some("Entry"), ("201", "the entry"))
        },
        "/api/v1/entries/{id}": {"post": with(op("Mark an entry open or done ({\"open\": false})", "reporting", Some("EntryOpen"), ("200", "the entry")), vec![id()])},
        "/api/v1/stats": {"get": with(op("Incident statistics for a month or quarter beside the previous one: by category, severity, source; 13 months; 5 quarters; response times (median, p90); SLA breaches", "reporting", None, ("200", "statistics")), stats_params())},
        "/api/v1/stats.csv": {"get": with(op("The same statistics as CSV", "reporting", None, ("200", "text/csv")), stats_params())},
        "/api/v1/controls": {
            "get": op("The controls registry", "reporting", None, ("200", "controls")),
            "post": op("Register a control", "reporting", Some("Control"), ("201", "the control"))
        },
        "/api/v1/controls/{id}": {
            "put": with(op("Change a control", "reporting", Some("Control"), ("200", "the control")), vec![id()]),
            "delete": with(op("Delete a control (manager, admin)", "reporting", None, ("204", "deleted")), vec![id()])
        },
        "/api/v1/coverage": {"get": op("The countermeasure map: defence layers × NIST CSF 2.0 functions, Detect computed from enabled rules and active sources, gaps", "reporting", None, ("200", "the map"))},
        "/api/v1/coverage/attack-layer": {"get": op("Detection coverage as a MITRE ATT&CK Navigator layer (format 4.5)", "reporting", None, ("200", "layer JSON"))},
        "/api/v1/maturity": {"get": op("The FIRST CSIRT Services Framework catalogue with bilingual questions, the rating scale and every assessment", "reporting", None, ("200", "catalogue and history"))},
        "/api/v1/maturity/assessments": {"post": op("Record a self-check: as-is and to-be 0–4 per service", "reporting", Some("Assessment"), ("201", "the assessment with area scores and gaps"))},
        "/api/v1/maturity/assessments/{id}": {"get": with(op("One assessment with area scores and gaps", "reporting", None, ("200", "the assessment")), vec![id()])},
        "/api/v1/reports/monthly": {"get": with(op("The monthly management report (HTML, PDF typeset by the server, or JSON)", "reporting", None, ("200", "the report")),
            vec![month(), query("lang", enum_of(&["ja", "en"])), query("format", enum_of(&["html", "pdf", "json"]))])},
        "/api/v1/reports/monthly/issue": {"post": op("Issue a month's report (manager, admin): the PDF is stored under its SHA-256 and no longer follows the data; audited", "reporting", Some("IssueReport"), ("201", "the issued report with its hash"))},
        "/api/v1/reports/monthly/issued": {"get": op("Issued reports, newest first", "reporting", None, ("200", "issued reports"))},
        "/api/v1/reports/monthly/issued/{id}": {"get": with(op("An issued report's PDF, checked against its hash", "reporting", None, ("200", "application/pdf")), vec![id()])},
        "/api/v1/cases/import": {"post": also(with(op("An earlier incident ledger as CSV (manager, admin); any bad cell refuses the file (422, by line and column); rows whose ref was imported are skipped", "cases", None, ("201", "cases created, refs skipped")), vec![query("dry_run", json!({"type": "boolean"}))]), "200", "with dry_run: what would be created")}
    });
    let schemas = json!({
        "EntryOpen": {"type": "object", "required": ["open"], "properties": {"open": {"type": "boolean"}}},
        "IssueReport": {"type": "object", "required": ["month", "lang"], "additionalProperties": false, "properties": {
            "month": month_text(), "lang": enum_of(&["ja", "en"])}},
        "KpiOverride": {"type": "object", "required": ["month", "kpi", "level", "reason"], "additionalProperties": false, "properties": {
            "month": month_text(), "kpi": enum_of(&codes(Kpi::ALL, Kpi::code)), "level": {"type": "integer", "minimum": 1, "maximum": 3},
            "remark": {"type": "string"}, "reason": {"type": "string"}}},
        "Entry": {"type": "object", "required": ["kind", "title"], "additionalProperties": false, "properties": {
            "kind": enum_of(&codes(EntryKind::ALL, EntryKind::code)), "month": {"type": "string", "pattern": "^(2[0-9]{3}-(0[1-9]|1[0-2]))?$", "description": "empty or absent: this month"}, "title": {"type": "string"},
            "detail": {"type": "string"}, "open": {"type": "boolean", "nullable": true}}},
        "Control": {"type": "object", "required": ["name", "layer", "function", "effectiveness"], "additionalProperties": false, "properties": {
            "name": {"type": "string"}, "layer": enum_of(&codes(DefenceLayer::ALL, DefenceLayer::code)), "function": enum_of(&codes(CsfFunction::ALL, CsfFunction::code)),
            "owner": {"type": "string"}, "effectiveness": enum_of(&codes(Effectiveness::ALL, Effectiveness::code)), "evidence": {"type": "string"}}},
        "Assessment": {"type": "object", "required": ["title", "ratings"], "additionalProperties": false, "properties": {
            "title": {"type": "string"},
            "ratings": {"type": "array", "items": {"type": "object", "required": ["service", "as_is", "to_be", "sourcing"], "properties": {
                "service": {"type": "string"}, "as_is": {"type": "integer", "minimum": 0, "maximum": 4}, "to_be": {"type": "integer", "minimum": 0, "maximum": 4},
                "sourcing": enum_of(&codes(Sourcing::ALL, Sourcing::code)), "notes": {"type": "string"}}}}}}
    });
    (paths, schemas)
}

/// PSIRT: products, product vulnerabilities, advisories and their revisions.
fn psirt_part() -> (Value, Value) {
    use hikeshi_model::{
        AdvisoryProfile, Coordinator, ProductStatus, RemediationKind, RevisionStatus,
        VexJustification,
    };
    let id = || json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}});
    let seq = || json!({"name": "seq", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}});
    let conflict = "not in a state that allows it, or the document changed since it was read";
    let paths = json!({
        "/api/v1/psirt/products": {
            "get": op("The product catalogue with every version", "psirt", None, ("200", "products")),
            "post": also(op("Add a product", "psirt", Some("Product"), ("201", "the product")), "409", "a product of this vendor and name exists")
        },
        "/api/v1/psirt/products/{id}/versions": {"post": with(also(op("Add a version to a product (one version, not a range; a purl or CPE 2.3 name identifies it)", "psirt", Some("ProductVersion"), ("201", "the version")), "409", "this version exists"), vec![id()])},
        "/api/v1/psirt/products/{id}/versions/{version_id}/sbom": {"put": {
            "summary": "The version's SBOM (CycloneDX 1.4–1.6 or SPDX 2.2/2.3 JSON, at most 32 MiB), replacing the one before; errors name the field", "tags": ["psirt"],
            "parameters": [id(), {"name": "version_id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {"200": {"description": "format, spec version, SHA-256 and component count"}, "400": error_response("not a CycloneDX or SPDX JSON document; the message names the field"), "404": error_response("no such product version"), "413": error_response("over 32 MiB")}
        }},
        "/api/v1/psirt/components": {"get": with(op("Which product versions ship a package (by purl, its version ignored, or by name), with the component's version", "psirt", None, ("200", "shipped components")), vec![json!({"name": "purl", "in": "query", "schema": {"type": "string"}}), json!({"name": "name", "in": "query", "schema": {"type": "string"}})])},
        "/api/v1/psirt/vulnerabilities/{id}/assess": {"post": with(op("Propose every catalogue version's state from one finding (a package and the version that fixes it) and the SBOMs; apply=true saves it as the version states", "psirt", Some("Finding"), ("200", "the proposed states with their reasons")), vec![id()])},
        "/api/v1/psirt/vulnerabilities": {"post": op("Record a vulnerability in the team's own products; its case is opened with it", "psirt", Some("ProductVuln"), ("201", "the vulnerability and its case number"))},
        "/api/v1/psirt/vulnerabilities/{id}": {"get": with(op("One product vulnerability with every version's state", "psirt", None, ("200", "the vulnerability")), vec![id()])},
        "/api/v1/psirt/vulnerabilities/{id}/versions": {"put": with(op("Set the state of every product version for the vulnerability (the whole table)", "psirt", Some("VersionStates"), ("200", "the vulnerability")), vec![id()])},
        "/api/v1/psirt/vulnerabilities/{id}/advisories": {"post": with(also(op("Start an advisory (CSAF security advisory or VEX) for the vulnerability", "psirt", Some("Advisory"), ("201", "the advisory")), "409", "an advisory with this tracking ID or file name exists"), vec![id()])},
        "/api/v1/psirt/vulnerabilities/{id}/export": {"get": with(op("The vulnerability as OpenVEX 0.2.0, CycloneDX 1.6 VEX or a CVE JSON 5.1 CNA container (the team profile's cve_org_id is needed for CVE)", "psirt", None, ("200", "the export")), vec![id(), json!({"name": "format", "in": "query", "required": true, "schema": {"type": "string", "enum": ["openvex", "cyclonedx_vex", "cve"]}})])},
        "/api/v1/psirt/advisories/{id}": {"get": with(op("One advisory with its revisions and their states", "psirt", None, ("200", "the advisory")), vec![id()])},
        "/api/v1/psirt/advisories/{id}/draft": {"get": with(op("The next revision as CSAF 2.0 JSON with status draft", "psirt", None, ("200", "the CSAF document")), vec![id()])},
        "/api/v1/psirt/advisories/{id}/revisions": {"post": with(also(op("Propose the next revision: rendered, checked (VEX rules), hashed; it waits for a second person's approval", "psirt", Some("Revision"), ("201", "the revision with its SHA-256")), "409", conflict), vec![id()])},
        "/api/v1/psirt/advisories/{id}/revisions/{seq}/document": {"get": with(op("A revision's frozen CSAF document", "psirt", None, ("200", "the CSAF document")), vec![id(), seq()])},
        "/api/v1/psirt/advisories/{id}/revisions/{seq}/approve": {"post": with(also(op("Approve a proposed revision for the hash read; someone other than the proposer. It is published at its release time", "psirt", Some("RevisionApproval"), ("200", "the scheduled revision")), "409", conflict), vec![id(), seq()])},
        "/api/v1/psirt/advisories/{id}/revisions/{seq}/release": {"put": with(also(op("Move a revision's release time before it is out; rendered again, it needs a new approval (audited)", "psirt", Some("Release"), ("200", "the revision, waiting for approval")), "409", conflict), vec![id(), seq()])}
    });
    let text = || json!({"type": "string"});
    let schemas = json!({
        "Product": {"type": "object", "required": ["vendor", "name"], "additionalProperties": false, "properties": {
            "vendor": text(), "name": text(), "owner": text()}},
        "ProductVersion": {"type": "object", "required": ["version"], "additionalProperties": false, "properties": {
            "version": text(), "purl": text(), "cpe": text()}},
        "ProductVuln": {"type": "object", "required": ["title", "description", "coordinator"], "additionalProperties": false, "properties": {
            "title": text(), "description": text(), "description_ja": text(), "cve": text(), "cwe_id": text(), "cwe_name": text(),
            "report": {"type": "string", "description": "tracking number of the report it came in by (joins the case; finder and credit default to the reporter's)"},
            "cvss3_vector": text(), "cvss4_vector": text(), "finder": text(), "credit": text(),
            "coordinator": enum_of(&codes(Coordinator::ALL, Coordinator::code)),
            "coordinator_ref": text(), "assignee": {"type": "string", "nullable": true}}},
        "VersionStates": {"type": "object", "required": ["versions"], "additionalProperties": false, "properties": {
            "versions": {"type": "array", "maxItems": 5000, "items": {"type": "object", "required": ["version_id", "status"], "additionalProperties": false, "properties": {
                "version_id": text(),
                "status": enum_of(&codes(ProductStatus::ALL, ProductStatus::code)),
                "justification": enum_of(&codes(VexJustification::ALL, VexJustification::code)),
                "impact": text(),
                "remediation": enum_of(&codes(RemediationKind::ALL, RemediationKind::code)),
                "remediation_details": text(), "remediation_url": text()}}}}},
        "Finding": {"type": "object", "required": ["fixed_version"], "additionalProperties": false, "properties": {
            "purl": text(), "name": text(), "fixed_version": text(), "introduced": text(),
            "product_ids": {"type": "array", "items": text()}, "apply": {"type": "boolean"}}},
        "Advisory": {"type": "object", "required": ["tracking_id", "profile"], "additionalProperties": false, "properties": {
            "tracking_id": text(),
            "profile": enum_of(&codes(AdvisoryProfile::ALL, AdvisoryProfile::code)),
            "title": text(), "summary": text()}},
        "Revision": {"type": "object", "required": ["status", "summary", "release_at"], "additionalProperties": false, "properties": {
            "status": enum_of(&codes(RevisionStatus::ALL, RevisionStatus::code)),
            "summary": text(),
            "release_at": {"type": "string", "format": "date-time"}}},
        "RevisionApproval": {"type": "object", "required": ["sha256"], "additionalProperties": false, "properties": {
            "sha256": {"type": "string", "description": "SHA-256 of the revision's document, as read"}}},
        "Release": {"type": "object", "required": ["release_at"], "additionalProperties": false, "properties": {
            "release_at": {"type": "string", "format": "date-time"}}}
    });
    (paths, schemas)
}

pub async fn document() -> Json<Value> {
    let mut doc = spec();
    for (paths, schemas) in [
        intake_part(),
        live_part(),
        assets_part(),
        reporting_part(),
        response_part(),
        psirt_part(),
    ] {
        for (target, part) in [
            ("paths", paths),
            ("components", json!({"schemas": schemas})),
        ] {
            merge(&mut doc[target], part);
        }
    }
    make_true(&mut doc);
    Json(doc)
}

/// The error answers every authenticated operation can give. Listed once here rather than per
/// operation, so a new operation cannot forget one (schemathesis checks them in CI).
const ERROR_ANSWERS: &[(&str, &str)] = &[
    ("400", "invalid input; `field` names it"),
    ("401", "not authenticated"),
    ("403", "role not allowed, or CSRF token missing"),
    ("404", "not found"),
    (
        "409",
        "conflicts with the current state (already decided, closed, revoked)",
    ),
    ("413", "body too large"),
    ("415", "the body is not of the media type described"),
    (
        "422",
        "a file was read and refused; its errors are listed by line and column",
    ),
    (
        "429",
        "too many requests; Retry-After says when to come back",
    ),
    ("503", "busy (Retry-After) or not configured on this server"),
];

/// Rules applied to the whole document, so that it says what the server does:
/// every error answer is listed; request objects refuse unknown fields (the server does);
/// a required text must hold something other than white space (the server trims it).
fn make_true(doc: &mut Value) {
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                let public = op["security"].as_array().is_some_and(|s| s.is_empty());
                let Some(responses) = op["responses"].as_object_mut() else {
                    continue;
                };
                let answers: &[(&str, &str)] = if public {
                    &ERROR_ANSWERS[..0]
                } else {
                    ERROR_ANSWERS
                };
                for (code, description) in answers {
                    responses
                        .entry(code.to_string())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        for (name, schema) in schemas.iter_mut() {
            if name != "Error" {
                tighten(schema);
            }
        }
    }
}

fn tighten(schema: &mut Value) {
    if schema.get("properties").is_some() && schema.get("additionalProperties").is_none() {
        schema["additionalProperties"] = Value::Bool(false);
    }
    let required: Vec<String> = schema["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, prop) in props.iter_mut() {
            let plain_text = prop["type"] == "string"
                && prop.get("enum").is_none()
                && prop.get("pattern").is_none()
                && prop.get("format").is_none();
            if plain_text && required.contains(name) {
                prop["minLength"] = json!(1);
                prop["pattern"] = json!("\\S");
            }
            if prop["type"] == "array" {
                if let Some(items) = prop.get_mut("items") {
                    tighten(items);
                    // Tags are trimmed and an empty one is refused.
                    if name == "tags" && items["type"] == "string" {
                        items["minLength"] = json!(1);
                        items["pattern"] = json!("\\S");
                    }
                }
            }
        }
    }
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}
