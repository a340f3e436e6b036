-- A time-ordered UUID (version 7, RFC 9562) made by PostgreSQL, for rows a statement
-- inserts by itself (the read journal written by the read's own statement): journal ids
-- keep the order of the reads, as those made by the service do.
CREATE FUNCTION passerelle_uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;

-- The read journal is an append-only audit trail written only by the service, with the ids
-- of the authenticated caller and of the households the same statement has just read. Its
-- foreign keys made every journalled read take a share lock on the caller's account and
-- organisation rows — the same few rows for all of an organisation's requests — which cost
-- about a third of a page's database time (measured with pgbench on the page's statement).
-- They would also stand in the way of a household's erasure, which must keep the trail.
ALTER TABLE special_category_reads
    DROP CONSTRAINT special_category_reads_household_id_fkey,
    DROP CONSTRAINT special_category_reads_account_id_fkey,
    DROP CONSTRAINT special_category_reads_organisation_id_fkey;
