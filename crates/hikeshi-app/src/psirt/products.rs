//! The product catalogue: products with their owner and versions, each version identified by
//! a purl or CPE so that advisories and SBOMs can name it.

use super::{short_text, store_error};
use crate::error::{AppError, AppResult};
use crate::{App, Who};
use hikeshi_store::{new_id, Product, ProductVersion};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub vendor: String,
    pub name: String,
    /// Who answers for it (a department or a contact of the directory).
    #[serde(default)]
    pub owner: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    pub version: String,
    #[serde(default)]
    pub purl: String,
    #[serde(default)]
    pub cpe: String,
}

#[derive(Debug, Serialize)]
pub struct ProductView {
    #[serde(flatten)]
    pub product: Product,
    pub versions: Vec<ProductVersion>,
}

/// Words CSAF's test 6.1.31 reads as a range: a single version names none of them.
const RANGE_WORDS: &[&str] = &[
    "after", "all", "before", "earlier", "later", "prior", "versions",
];

pub async fn create(app: &App, who: &Who, input: NewProduct) -> AppResult<Product> {
    who.require_edit("edit the product catalogue")?;
    let product = Product {
        id: new_id(),
        vendor: short_text("vendor", &input.vendor, true, 200)?,
        name: short_text("name", &input.name, true, 200)?,
        owner: short_text("owner", &input.owner, false, 200)?,
        created_by: who.name.clone(),
        created_at: app.calendar.now_ms(),
    };
    app.store
        .create_product(&product, &who.actor())
        .await
        .map_err(|e| store_error(e, "a product of this vendor and name"))?;
    Ok(product)
}

pub async fn add_version(
    app: &App,
    who: &Who,
    product_id: &str,
    input: NewVersion,
) -> AppResult<ProductVersion> {
    who.require_edit("edit the product catalogue")?;
    if app.store.product(product_id).await?.is_none() {
        return Err(AppError::not_found("product"));
    }
    let version = short_text("version", &input.version, true, 100)?;
    let lower = version.to_lowercase();
    if version.contains(['<', '>', '=', ' '])
        || lower
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| RANGE_WORDS.contains(&w))
    {
        return Err(AppError::invalid(
            "version",
            format!("version: `{version}` reads as a range; give one version, such as 2.1.0"),
        ));
    }
    let purl = short_text("purl", &input.purl, false, 500)?;
    if !purl.is_empty() && (!purl.starts_with("pkg:") || purl.contains(char::is_whitespace)) {
        return Err(AppError::invalid(
            "purl",
            "purl: a package URL starts with `pkg:` and has no spaces",
        ));
    }
    let cpe = short_text("cpe", &input.cpe, false, 500)?;
    if !cpe.is_empty() && (!cpe.starts_with("cpe:2.3:") || cpe.split(':').count() != 13) {
        return Err(AppError::invalid(
            "cpe",
            "cpe: a CPE 2.3 name has 13 colon-separated parts (cpe:2.3:a:vendor:product:version:…)",
        ));
    }
    let row = ProductVersion {
        id: new_id(),
        product_id: product_id.to_string(),
        version,
        purl,
        cpe,
        created_at: app.calendar.now_ms(),
    };
    app.store
        .add_product_version(&row, &who.actor())
        .await
        .map_err(|e| store_error(e, "this version of the product"))?;
    Ok(row)
}

/// The catalogue with every version (anyone signed in may read it).
pub async fn list(app: &App, _who: &Who) -> AppResult<Vec<ProductView>> {
    let mut versions = app.store.product_versions().await?;
    Ok(app
        .store
        .products()
        .await?
        .into_iter()
        .map(|product| {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut versions)
                .into_iter()
                .partition(|v| v.product_id == product.id);
            versions = rest;
            ProductView {
                product,
                versions: mine,
            }
        })
        .collect())
}
