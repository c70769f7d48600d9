DROP TABLE reference_datasets;
DROP TABLE communes;
DROP TABLE epcis;
DROP TABLE departements;
DROP TABLE regions;
