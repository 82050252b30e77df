//! Merging an applied configuration into an object, as structured-merge-diff
//! merges typed values.

use std::collections::{BTreeSet, VecDeque};

use serde_json::{Map, Value};

use super::conflict::ApplyError;
use super::fields::Fields;
use super::fieldset::PathElement;
use super::schema::ListType;

impl Fields<'_> {
    /// Merges an applied configuration into an object (structured-merge-diff
    /// `Merge`): maps recursively, associative lists item by item, the rest
    /// replaced. A `null` in the configuration removes the field.
    pub fn merge(&self, live: &Value, config: &Value) -> Result<Value, ApplyError> {
        self.merge_value(Some(live), config, &mut Vec::new(), &mut Vec::new())
    }

    fn merge_value(
        &self,
        live: Option<&Value>,
        config: &Value,
        names: &mut Vec<String>,
        pes: &mut Vec<PathElement>,
    ) -> Result<Value, ApplyError> {
        match config {
            Value::Object(fields) if !self.schema.is_atomic_map(names) => {
                let mut out = match live {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                for (key, value) in fields {
                    if value.is_null() {
                        out.shift_remove(key);
                        continue;
                    }
                    names.push(key.clone());
                    pes.push(PathElement::Field(key.clone()));
                    let merged = self.merge_value(out.get(key), value, names, pes)?;
                    names.pop();
                    pes.pop();
                    out.insert(key.clone(), merged);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => match self.schema.list_type(names) {
                ListType::Atomic => Ok(config.clone()),
                list_type => {
                    let live_items = match live {
                        Some(Value::Array(l)) => l.as_slice(),
                        _ => &[],
                    };
                    Ok(Value::Array(
                        self.merge_list(live_items, items, list_type, names, pes)?,
                    ))
                }
            },
            _ => Ok(config.clone()),
        }
    }

    /// Merges two associative lists: the live order is kept, items of the
    /// configuration merge into their live counterparts, new items come where
    /// the configuration puts them relative to the shared ones.
    fn merge_list(
        &self,
        live: &[Value],
        config: &[Value],
        list_type: ListType,
        names: &mut Vec<String>,
        pes: &mut Vec<PathElement>,
    ) -> Result<Vec<Value>, ApplyError> {
        let mut rhs: Vec<(PathElement, &Value)> = Vec::with_capacity(config.len());
        for (i, item) in config.iter().enumerate() {
            let pe = self.require_element(item, list_type, i, pes)?;
            if !rhs.iter().any(|(p, _)| *p == pe) {
                rhs.push((pe, item));
            }
        }
        let lhs: Vec<(Option<PathElement>, &Value)> = live
            .iter()
            .map(|item| (self.item_element(item, list_type), item))
            .collect();
        let in_rhs =
            |pe: &Option<PathElement>| pe.as_ref().is_some_and(|p| rhs.iter().any(|(r, _)| r == p));
        let live_item = |pe: &PathElement| {
            lhs.iter()
                .find(|(p, _)| p.as_ref() == Some(pe))
                .map(|(_, v)| *v)
        };

        let mut shared: VecDeque<&PathElement> = rhs
            .iter()
            .map(|(p, _)| p)
            .filter(|p| live_item(p).is_some())
            .collect();
        let mut next_shared = shared.pop_front();
        let mut merged_rhs: BTreeSet<&PathElement> = BTreeSet::new();
        let mut out = Vec::with_capacity(live.len().max(config.len()));
        let (mut li, mut ri) = (0, 0);
        while li < lhs.len() || ri < rhs.len() {
            if li < lhs.len() && ri < rhs.len() {
                let lpe = &lhs[li].0;
                if lpe.as_ref() == Some(&rhs[ri].0) {
                    let (pe, item) = &rhs[ri];
                    merged_rhs.insert(pe);
                    out.push(self.merge_item(Some(lhs[li].1), item, pe, names, pes)?);
                    li += 1;
                    ri += 1;
                    next_shared = shared.pop_front();
                    continue;
                }
                if in_rhs(lpe) && next_shared.is_some_and(|s| lpe.as_ref() != Some(s)) {
                    li += 1;
                    continue;
                }
            }
            if li < lhs.len() {
                let (lpe, item) = &lhs[li];
                if !in_rhs(lpe) {
                    out.push((*item).clone());
                    li += 1;
                    continue;
                }
                if lpe.as_ref().is_some_and(|p| merged_rhs.contains(p)) {
                    li += 1;
                }
            }
            if ri < rhs.len() {
                let (pe, item) = &rhs[ri];
                merged_rhs.insert(pe);
                out.push(self.merge_item(live_item(pe), item, pe, names, pes)?);
                ri += 1;
                if next_shared == Some(pe) {
                    next_shared = shared.pop_front();
                }
            }
        }
        Ok(out)
    }

    fn merge_item(
        &self,
        live: Option<&Value>,
        config: &Value,
        pe: &PathElement,
        names: &mut Vec<String>,
        pes: &mut Vec<PathElement>,
    ) -> Result<Value, ApplyError> {
        pes.push(pe.clone());
        let merged = self.merge_value(live, config, names, pes);
        pes.pop();
        merged
    }
}
