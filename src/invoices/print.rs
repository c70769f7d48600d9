//! An invoice or credit note as a printable HTML page (French), with every
//! mention the law asks; no script, no external resource.

use std::fmt::Write;

use super::cii::escape;
use super::dto::{Invoice, Party, PostalAddress};
use crate::orders::money::euros;

fn address(a: &PostalAddress) -> String {
    format!(
        "{}<br>{} {}",
        escape(&a.line),
        escape(a.postcode.as_deref().unwrap_or("")),
        escape(&a.city)
    )
}

fn party(title: &str, p: &Party) -> String {
    let vat = p
        .vat_number
        .as_deref()
        .map(|v| format!("<br>TVA intracommunautaire : {}", escape(v)))
        .unwrap_or_default();
    format!(
        "<section><h2>{title}</h2><strong>{}</strong><br>{}<br>SIREN {} — SIRET {}{vat}</section>",
        escape(&p.name),
        address(&p.address),
        escape(&p.siren),
        escape(&p.siret)
    )
}

pub fn render(invoice: &Invoice) -> String {
    let credit = invoice.corrects.is_some();
    let title = if credit { "Avoir" } else { "Facture" };
    let mut h = String::with_capacity(8192 + 512 * invoice.lines.len());
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{title} {n}</title>\
         <style>body{{font:14px sans-serif;margin:2em}}table{{border-collapse:collapse;width:100%}}\
         td,th{{border:1px solid #999;padding:4px}}td.n{{text-align:right}}section{{margin:1em 0}}</style>\
         </head><body><h1>{title} n° {n}</h1>",
        n = escape(&invoice.number)
    );
    let _ = write!(h, "<p>Date d'émission : {}", invoice.issue_date);
    let _ = write!(h, "<br>Date de livraison : {}", invoice.delivery_date);
    if let (Some(start), Some(end)) = (invoice.period_start, invoice.period_end) {
        let _ = write!(h, "<br>Période : du {start} au {end}");
    }
    let _ = write!(h, "<br>Nature de l'opération : livraison de biens");
    if let Some(c) = &invoice.corrects {
        let _ = write!(
            h,
            "<br>Avoir sur la facture n° {} du {}",
            escape(&c.number),
            c.issue_date
        );
    }
    if let Some(reason) = &invoice.reason {
        let _ = write!(h, "<br>Motif : {}", escape(reason));
    }
    for (label, value) in [
        (
            "Bon de commande / engagement juridique",
            &invoice.engagement_number,
        ),
        ("Code service", &invoice.service_code),
        ("Marché", &invoice.contract_number),
    ] {
        if let Some(v) = value {
            let _ = write!(h, "<br>{label} : {}", escape(v));
        }
    }
    h.push_str("</p>");
    if invoice.mandate_id.is_some() {
        let _ = write!(
            h,
            "<p>Facture émise par Sésame au nom et pour le compte de {} (mandat de facturation).</p>",
            escape(&invoice.seller.name)
        );
    }
    h.push_str(&party("Vendeur", &invoice.seller));
    h.push_str(&party("Acheteur", &invoice.buyer));
    if let Some(s) = &invoice.ship_to {
        let _ = write!(
            h,
            "<section><h2>Adresse de livraison</h2><strong>{}</strong><br>{}</section>",
            escape(&s.name),
            address(&s.address)
        );
    }
    h.push_str(
        "<table><tr><th>#</th><th>Désignation</th><th>Quantité</th><th>Unité</th>\
         <th>Prix unitaire HT</th><th>TVA</th><th>Montant HT</th></tr>",
    );
    for l in &invoice.lines {
        let labels: Vec<&str> = l.labels.iter().map(|l| l.as_str()).collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{} €</td>\
             <td class=\"n\">{} %</td><td class=\"n\">{} €</td></tr>",
            l.line_no,
            escape(&l.description),
            if labels.is_empty() {
                String::new()
            } else {
                format!(" ({})", labels.join(", "))
            },
            l.quantity,
            l.unit,
            euros(l.unit_price_cents),
            l.vat_rate,
            euros(l.net_cents)
        );
    }
    h.push_str("</table><table>");
    for rate in &invoice.totals.vat {
        let _ = write!(
            h,
            "<tr><td>TVA {} % sur {} €</td><td class=\"n\">{} €</td></tr>",
            rate.rate,
            euros(rate.base_cents),
            euros(rate.vat_cents)
        );
    }
    let t = &invoice.totals;
    let _ = write!(
        h,
        "<tr><td>Total HT</td><td class=\"n\">{} €</td></tr><tr><td>Total TVA</td><td class=\"n\">{} €</td></tr>\
         <tr><th>Total TTC</th><th class=\"n\">{} €</th></tr></table>",
        euros(t.ht_cents),
        euros(t.vat_cents),
        euros(t.ttc_cents)
    );
    let _ = write!(h, "<p>{}", escape(&invoice.payment_terms));
    if let (false, Some(iban)) = (credit, &invoice.seller.iban) {
        let _ = write!(h, "<br>IBAN : {}", escape(iban));
    }
    let _ = write!(
        h,
        "<br>{}<br>Indemnité forfaitaire pour frais de recouvrement : {} €\
         <br>Pas d'escompte pour paiement anticipé.</p></body></html>",
        escape(&invoice.late_payment),
        invoice.recovery_indemnity_cents / 100
    );
    h
}
