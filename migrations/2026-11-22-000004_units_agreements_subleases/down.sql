DROP TABLE rent_arrears;
DROP TABLE sublease_transitions;
DROP TABLE subleases;
DROP TABLE proposals;
DROP TABLE units;
DROP TABLE agreements;
DROP EXTENSION IF EXISTS btree_gist;
