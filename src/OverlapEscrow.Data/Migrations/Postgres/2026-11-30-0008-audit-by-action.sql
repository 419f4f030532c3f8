-- A population's recent uploads (committed and refused) are read from the audit log by organization and action,
-- newest first (the dashboard's population page); without this index that read scans the organization's whole log.
CREATE INDEX audit_events_by_action ON audit_events (organization_id, action, seq);
