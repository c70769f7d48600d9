//! An invoice or credit note as EN 16931 CII D16B XML (the syntax of
//! Factur-X, accepted by Chorus Pro), without I/O.
//!
//! Element order follows the D16B schema's sequences; the business terms
//! (BT-n) are named where they are written. The French rules (BR-FR) add:
//! the buyer's and seller's SIREN and their `0225` electronic addresses, the
//! *cadre de facturation* `B1` (goods), and the three legal notes PMT, PMD
//! and AAB exactly once. The tests validate every kind of document against
//! the schema and both schematrons.

use std::fmt::Write;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::dto::{Invoice, Party, PostalAddress};
use crate::orders::money::euros;

/// Escapes text for an XML (or HTML) element or attribute.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn date(day: NaiveDate) -> String {
    day.format("%Y%m%d").to_string()
}

fn decimal(value: Decimal) -> String {
    value.normalize().to_string()
}

/// A small writer: `open`/`close` elements, `leaf` for one with text.
struct Xml(String);

impl Xml {
    fn open(&mut self, tag: &str) {
        let _ = write!(self.0, "<{tag}>");
    }

    fn close(&mut self, tag: &str) {
        let _ = write!(self.0, "</{tag}>");
    }

    fn leaf(&mut self, tag: &str, text: &str) {
        let _ = write!(self.0, "<{tag}>{}</{tag}>", escape(text));
    }

    fn leaf_with(&mut self, tag: &str, attribute: (&str, &str), text: &str) {
        let (name, value) = attribute;
        let _ = write!(
            self.0,
            "<{tag} {name}=\"{}\">{}</{tag}>",
            escape(value),
            escape(text)
        );
    }

    fn date_time(&mut self, tag: &str, day: NaiveDate) {
        self.open(tag);
        self.leaf_with("udt:DateTimeString", ("format", "102"), &date(day));
        self.close(tag);
    }

    fn note(&mut self, content: &str, subject: &str) {
        self.open("ram:IncludedNote");
        self.leaf("ram:Content", content);
        self.leaf("ram:SubjectCode", subject);
        self.close("ram:IncludedNote");
    }

    fn address(&mut self, address: &PostalAddress) {
        self.open("ram:PostalTradeAddress");
        if let Some(postcode) = &address.postcode {
            self.leaf("ram:PostcodeCode", postcode);
        }
        if !address.line.is_empty() {
            self.leaf("ram:LineOne", &address.line);
        }
        self.leaf("ram:CityName", &address.city);
        self.leaf("ram:CountryID", &address.country);
        self.close("ram:PostalTradeAddress");
    }

    /// BG-4 seller or BG-7 buyer: SIRET (BT-29/46), name, SIREN (BT-30/47),
    /// address, `0225` electronic address (BT-34/49), VAT number (BT-31/48).
    fn party(&mut self, tag: &str, party: &Party) {
        self.open(tag);
        self.leaf_with("ram:GlobalID", ("schemeID", "0009"), &party.siret);
        self.leaf("ram:Name", &party.name);
        self.open("ram:SpecifiedLegalOrganization");
        self.leaf_with("ram:ID", ("schemeID", "0002"), &party.siren);
        self.close("ram:SpecifiedLegalOrganization");
        self.address(&party.address);
        self.open("ram:URIUniversalCommunication");
        self.leaf_with("ram:URIID", ("schemeID", "0225"), &party.siren);
        self.close("ram:URIUniversalCommunication");
        if let Some(vat) = &party.vat_number {
            self.open("ram:SpecifiedTaxRegistration");
            self.leaf_with("ram:ID", ("schemeID", "VA"), vat);
            self.close("ram:SpecifiedTaxRegistration");
        }
        self.close(tag);
    }

    fn tax(&mut self, rate: Decimal, amounts: Option<(i64, i64)>) {
        self.open("ram:ApplicableTradeTax");
        if let Some((vat, _)) = amounts {
            self.leaf("ram:CalculatedAmount", &euros(vat));
        }
        self.leaf("ram:TypeCode", "VAT");
        if let Some((_, base)) = amounts {
            self.leaf("ram:BasisAmount", &euros(base));
        }
        self.leaf("ram:CategoryCode", "S");
        self.leaf("ram:RateApplicablePercent", &decimal(rate));
        self.close("ram:ApplicableTradeTax");
    }
}

/// The document as CII D16B XML, UTF-8.
pub fn render(invoice: &Invoice) -> String {
    let mut x = Xml(String::with_capacity(4096 + 2048 * invoice.lines.len()));
    x.0.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rsm:CrossIndustryInvoice \
         xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\" \
         xmlns:ram=\"urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100\" \
         xmlns:qdt=\"urn:un:unece:uncefact:data:standard:QualifiedDataType:100\" \
         xmlns:udt=\"urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100\">",
    );
    // BT-23 cadre de facturation (B1: goods), BT-24 the EN 16931 profile.
    x.open("rsm:ExchangedDocumentContext");
    x.open("ram:BusinessProcessSpecifiedDocumentContextParameter");
    x.leaf("ram:ID", "B1");
    x.close("ram:BusinessProcessSpecifiedDocumentContextParameter");
    x.open("ram:GuidelineSpecifiedDocumentContextParameter");
    x.leaf("ram:ID", "urn:cen.eu:en16931:2017");
    x.close("ram:GuidelineSpecifiedDocumentContextParameter");
    x.close("rsm:ExchangedDocumentContext");

    // BT-1, BT-3, BT-2, then the legal notes (BT-21/22).
    x.open("rsm:ExchangedDocument");
    x.leaf("ram:ID", &invoice.number);
    x.leaf("ram:TypeCode", &invoice.type_code.to_string());
    x.date_time("ram:IssueDateTime", invoice.issue_date);
    x.note(
        &format!(
            "Indemnité forfaitaire pour frais de recouvrement : {} €",
            invoice.recovery_indemnity_cents / 100
        ),
        "PMT",
    );
    x.note(&invoice.late_payment, "PMD");
    x.note("Pas d'escompte pour paiement anticipé", "AAB");
    if invoice.mandate_id.is_some() {
        x.note(
            &format!(
                "Facture émise par Sésame au nom et pour le compte de {} (mandat de facturation)",
                invoice.seller.name
            ),
            "REG",
        );
    }
    if let Some(reason) = &invoice.reason {
        x.note(&format!("Motif de l'avoir : {reason}"), "AAI");
    }
    x.close("rsm:ExchangedDocument");

    x.open("rsm:SupplyChainTradeTransaction");
    for line in &invoice.lines {
        x.open("ram:IncludedSupplyChainTradeLineItem");
        x.open("ram:AssociatedDocumentLineDocument");
        x.leaf("ram:LineID", &line.line_no.to_string());
        x.open("ram:IncludedNote");
        x.leaf(
            "ram:Content",
            &format!(
                "Commande {}, ligne {}",
                line.order_id,
                line.order_line_no + 1
            ),
        );
        x.close("ram:IncludedNote");
        x.close("ram:AssociatedDocumentLineDocument");
        // BT-153 name, BT-160/161 EGalim labels, BT-159 origin.
        x.open("ram:SpecifiedTradeProduct");
        x.leaf("ram:Name", &line.description);
        for label in &line.labels {
            x.open("ram:ApplicableProductCharacteristic");
            x.leaf("ram:Description", "EGalim");
            x.leaf("ram:Value", label.as_str());
            x.close("ram:ApplicableProductCharacteristic");
        }
        if line.origin == "FRANCE" {
            x.open("ram:OriginTradeCountry");
            x.leaf("ram:ID", "FR");
            x.close("ram:OriginTradeCountry");
        }
        x.close("ram:SpecifiedTradeProduct");
        // BT-146 net unit price.
        x.open("ram:SpecifiedLineTradeAgreement");
        x.open("ram:NetPriceProductTradePrice");
        x.leaf("ram:ChargeAmount", &euros(line.unit_price_cents));
        x.close("ram:NetPriceProductTradePrice");
        x.close("ram:SpecifiedLineTradeAgreement");
        // BT-129/130 quantity and UN/ECE unit.
        x.open("ram:SpecifiedLineTradeDelivery");
        x.leaf_with(
            "ram:BilledQuantity",
            ("unitCode", line.unit.as_str()),
            &decimal(line.quantity),
        );
        x.close("ram:SpecifiedLineTradeDelivery");
        // BT-151/152 VAT, BT-131 line amount.
        x.open("ram:SpecifiedLineTradeSettlement");
        x.tax(line.vat_rate, None);
        x.open("ram:SpecifiedTradeSettlementLineMonetarySummation");
        x.leaf("ram:LineTotalAmount", &euros(line.net_cents));
        x.close("ram:SpecifiedTradeSettlementLineMonetarySummation");
        x.close("ram:SpecifiedLineTradeSettlement");
        x.close("ram:IncludedSupplyChainTradeLineItem");
    }

    x.open("ram:ApplicableHeaderTradeAgreement");
    if let Some(code) = &invoice.service_code {
        x.leaf("ram:BuyerReference", code);
    }
    x.party("ram:SellerTradeParty", &invoice.seller);
    x.party("ram:BuyerTradeParty", &invoice.buyer);
    if let Some(engagement) = &invoice.engagement_number {
        x.open("ram:BuyerOrderReferencedDocument");
        x.leaf("ram:IssuerAssignedID", engagement);
        x.close("ram:BuyerOrderReferencedDocument");
    }
    if let Some(contract) = &invoice.contract_number {
        x.open("ram:ContractReferencedDocument");
        x.leaf("ram:IssuerAssignedID", contract);
        x.close("ram:ContractReferencedDocument");
    }
    x.close("ram:ApplicableHeaderTradeAgreement");

    // BG-13: where (BG-15, when not the buyer's address) and when (BT-72).
    x.open("ram:ApplicableHeaderTradeDelivery");
    if let Some(ship_to) = &invoice.ship_to {
        x.open("ram:ShipToTradeParty");
        x.leaf("ram:Name", &ship_to.name);
        x.address(&ship_to.address);
        x.close("ram:ShipToTradeParty");
    }
    x.open("ram:ActualDeliverySupplyChainEvent");
    x.date_time("ram:OccurrenceDateTime", invoice.delivery_date);
    x.close("ram:ActualDeliverySupplyChainEvent");
    x.close("ram:ApplicableHeaderTradeDelivery");

    x.open("ram:ApplicableHeaderTradeSettlement");
    x.leaf("ram:InvoiceCurrencyCode", "EUR");
    let is_invoice = invoice.corrects.is_none();
    if let (true, Some(iban)) = (is_invoice, &invoice.seller.iban) {
        // BT-81 58: SEPA credit transfer, BT-84 the IBAN.
        x.open("ram:SpecifiedTradeSettlementPaymentMeans");
        x.leaf("ram:TypeCode", "58");
        x.open("ram:PayeePartyCreditorFinancialAccount");
        x.leaf("ram:IBANID", iban);
        x.close("ram:PayeePartyCreditorFinancialAccount");
        x.close("ram:SpecifiedTradeSettlementPaymentMeans");
    }
    for rate in &invoice.totals.vat {
        x.tax(rate.rate, Some((rate.vat_cents, rate.base_cents)));
    }
    if let (Some(start), Some(end)) = (invoice.period_start, invoice.period_end) {
        // BG-14: a statement's period.
        x.open("ram:BillingSpecifiedPeriod");
        x.date_time("ram:StartDateTime", start);
        x.date_time("ram:EndDateTime", end);
        x.close("ram:BillingSpecifiedPeriod");
    }
    x.open("ram:SpecifiedTradePaymentTerms");
    x.leaf("ram:Description", &invoice.payment_terms);
    if let Some(due) = invoice.due_date {
        x.date_time("ram:DueDateDateTime", due);
    }
    x.close("ram:SpecifiedTradePaymentTerms");
    let totals = &invoice.totals;
    x.open("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    x.leaf("ram:LineTotalAmount", &euros(totals.ht_cents));
    x.leaf("ram:TaxBasisTotalAmount", &euros(totals.ht_cents));
    x.leaf_with(
        "ram:TaxTotalAmount",
        ("currencyID", "EUR"),
        &euros(totals.vat_cents),
    );
    x.leaf("ram:GrandTotalAmount", &euros(totals.ttc_cents));
    x.leaf("ram:DuePayableAmount", &euros(totals.ttc_cents));
    x.close("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    if let Some(corrected) = &invoice.corrects {
        // BT-25/26: the invoice a credit note corrects (BR-FR-CO-05).
        x.open("ram:InvoiceReferencedDocument");
        x.leaf("ram:IssuerAssignedID", &corrected.number);
        x.open("ram:FormattedIssueDateTime");
        x.leaf_with(
            "qdt:DateTimeString",
            ("format", "102"),
            &date(corrected.issue_date),
        );
        x.close("ram:FormattedIssueDateTime");
        x.close("ram:InvoiceReferencedDocument");
    }
    x.close("ram:ApplicableHeaderTradeSettlement");
    x.close("rsm:SupplyChainTradeTransaction");
    x.close("rsm:CrossIndustryInvoice");
    x.0.push('\n');
    x.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("Pâtes & <co> \"l'été\""),
            "Pâtes &amp; &lt;co&gt; &quot;l&apos;été&quot;"
        );
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2026, 3, 5).unwrap()),
            "20260305"
        );
        assert_eq!(decimal(Decimal::new(5500, 3)), "5.5");
        assert_eq!(decimal(Decimal::new(2000, 2)), "20");
    }
}
