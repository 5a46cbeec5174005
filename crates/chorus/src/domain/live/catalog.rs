//! The gift catalog: what viewers can send and what battle boosts cost. Read once at
//! startup from the `gift_catalog` file (JSON or TOML), or the PROTOCOL.md default.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::model::{CatalogItem, ItemKind};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::text::valid_id;

/// Most coins one catalog item may cost.
const MAX_ITEM_COINS: i64 = 1_000_000;

/// An item as a catalog file spells it.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct FileItem {
    id: String,
    name: String,
    coins: i64,
    #[serde(default)]
    kind: ItemKind,
    points: Option<i64>,
}

/// A catalog file: `{"gifts": [...]}` (JSON or TOML `[[gifts]]`), or a bare JSON array.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum FileCatalog {
    Wrapped { gifts: Vec<FileItem> },
    Bare(Vec<FileItem>),
}

/// The items on sale, in catalog order.
#[derive(Debug, Clone)]
pub struct GiftCatalog {
    items: Vec<CatalogItem>,
    by_id: HashMap<String, usize>,
}

impl Default for GiftCatalog {
    /// PROTOCOL.md §9: rose 1, heart 10, crown 100, rocket 1000; boost 50 coins for 100 points.
    fn default() -> Self {
        let gift = |id: &str, name: &str, coins| CatalogItem { id: id.into(), name: name.into(), coins, kind: ItemKind::Gift, points: None };
        let items = vec![
            gift("rose", "Rose", 1),
            gift("heart", "Heart", 10),
            gift("crown", "Crown", 100),
            gift("rocket", "Rocket", 1000),
            CatalogItem { id: "boost".into(), name: "Boost".into(), coins: 50, kind: ItemKind::Boost, points: Some(100) },
        ];
        Self::from_items(items).unwrap_or_else(|_| Self { items: Vec::new(), by_id: HashMap::new() })
    }
}

impl GiftCatalog {
    /// The catalog of the file at `path`, or the default without one.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else { return Ok(Self::default()) };
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read gift catalog {}: {e}", path.display()))?;
        let is_toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        let file: FileCatalog = if is_toml {
            use figment::providers::Format;
            figment::Figment::from(figment::providers::Toml::string(&text))
                .extract()
                .map_err(|e| anyhow::anyhow!("gift catalog {}: {e}", path.display()))?
        } else {
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("gift catalog {}: {e}", path.display()))?
        };
        let items = match file {
            FileCatalog::Wrapped { gifts } | FileCatalog::Bare(gifts) => gifts,
        };
        let items = items
            .into_iter()
            .map(|i| CatalogItem { id: i.id, name: i.name, coins: i.coins, kind: i.kind, points: i.points })
            .collect();
        Self::from_items(items).map_err(|e| anyhow::anyhow!("gift catalog {}: {e}", path.display()))
    }

    /// Checks the items: unique ids, names, prices in range, boosts with points.
    pub fn from_items(items: Vec<CatalogItem>) -> Result<Self, String> {
        let mut by_id = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            valid_id("id", &item.id).map_err(|e| e.message)?;
            let name_len = item.name.trim().chars().count();
            if name_len == 0 || name_len > 64 {
                return Err(format!("{}: name must be 1-64 characters", item.id));
            }
            if !(1..=MAX_ITEM_COINS).contains(&item.coins) {
                return Err(format!("{}: coins must be 1-{MAX_ITEM_COINS}", item.id));
            }
            match (item.kind, item.points) {
                (ItemKind::Boost, Some(p)) if (1..=MAX_ITEM_COINS * 100).contains(&p) => {}
                (ItemKind::Boost, _) => return Err(format!("{}: a boost needs positive points", item.id)),
                (ItemKind::Gift, Some(_)) => return Err(format!("{}: only boosts have points", item.id)),
                (ItemKind::Gift, None) => {}
            }
            if by_id.insert(item.id.clone(), i).is_some() {
                return Err(format!("{}: duplicate id", item.id));
            }
        }
        if !items.iter().any(|i| i.kind == ItemKind::Gift) {
            return Err("the catalog needs at least one gift".into());
        }
        Ok(Self { items, by_id })
    }

    /// Every item, gifts and boosts, in catalog order.
    pub fn items(&self) -> &[CatalogItem] {
        &self.items
    }

    /// A gift (not a boost) by id.
    pub fn gift(&self, id: &str) -> DomainResult<&CatalogItem> {
        self.item(id)
            .filter(|i| i.kind == ItemKind::Gift)
            .ok_or_else(|| DomainError::bad_request("unknown giftId: not a gift of the catalog (GET /api/gifts)"))
    }

    /// A boost by id.
    pub fn boost(&self, id: &str) -> DomainResult<&CatalogItem> {
        self.item(id)
            .filter(|i| i.kind == ItemKind::Boost)
            .ok_or_else(|| DomainError::bad_request("unknown boostId: not a boost of the catalog (GET /api/gifts)"))
    }

    /// The first boost in catalog order: what `battle:boost` buys when it names none.
    pub fn first_boost(&self) -> DomainResult<&CatalogItem> {
        self.items
            .iter()
            .find(|i| i.kind == ItemKind::Boost)
            .ok_or_else(|| DomainError::bad_request("the catalog has no boost to buy (GET /api/gifts)"))
    }

    fn item(&self, id: &str) -> Option<&CatalogItem> {
        self.by_id.get(id).and_then(|&i| self.items.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_catalog_is_the_protocol_one() {
        let c = GiftCatalog::default();
        let prices: Vec<_> = c.items().iter().map(|i| (i.id.as_str(), i.coins)).collect();
        assert_eq!(prices, [("rose", 1), ("heart", 10), ("crown", 100), ("rocket", 1000), ("boost", 50)]);
        assert_eq!(c.boost("boost").unwrap().points, Some(100));
        assert!(c.gift("boost").is_err(), "a boost is not a gift");
        assert!(c.boost("rose").is_err(), "a gift is not a boost");
        assert!(c.gift("diamond").is_err());
        assert_eq!(c.first_boost().map(|b| b.id.as_str()).ok(), Some("boost"));
    }

    #[test]
    fn the_first_boost_is_the_default_one_and_a_catalog_may_have_none() {
        let item = |id: &str, kind, points| CatalogItem { id: id.into(), name: id.into(), coins: 5, kind, points };
        let c = GiftCatalog::from_items(vec![
            item("star", ItemKind::Gift, None),
            item("turbo", ItemKind::Boost, Some(30)),
            item("nitro", ItemKind::Boost, Some(90)),
        ])
        .unwrap();
        assert_eq!(c.first_boost().unwrap().id, "turbo");
        let gifts_only = GiftCatalog::from_items(vec![item("star", ItemKind::Gift, None)]).unwrap();
        assert!(gifts_only.first_boost().is_err_and(|e| e.code == crate::domain::error::ErrorCode::BadRequest));
    }

    #[test]
    fn catalog_files_load_from_json_and_toml_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("gifts.json");
        std::fs::write(&json, r#"[{"id":"star","name":"Star","coins":5},{"id":"turbo","name":"Turbo","coins":20,"kind":"boost","points":30}]"#).unwrap();
        let c = GiftCatalog::load(Some(&json)).unwrap();
        assert_eq!(c.gift("star").unwrap().coins, 5);
        assert_eq!(c.boost("turbo").unwrap().points, Some(30));
        let toml = dir.path().join("gifts.toml");
        std::fs::write(&toml, "[[gifts]]\nid = \"lily\"\nname = \"Lily\"\ncoins = 3\n").unwrap();
        assert_eq!(GiftCatalog::load(Some(&toml)).unwrap().gift("lily").unwrap().coins, 3);
        std::fs::write(&json, r#"[{"id":"x","name":"X","coins":0}]"#).unwrap();
        assert!(GiftCatalog::load(Some(&json)).is_err(), "free gifts are refused");
        std::fs::write(&json, r#"[{"id":"b","name":"B","coins":5,"kind":"boost"}]"#).unwrap();
        assert!(GiftCatalog::load(Some(&json)).is_err(), "a boost without points is refused");
        assert!(GiftCatalog::load(Some(&dir.path().join("missing.json"))).is_err());
    }
}
