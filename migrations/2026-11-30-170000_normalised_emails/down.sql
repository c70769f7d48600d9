-- The addresses keep their normalised form: only the constraints go.
ALTER TABLE invitations DROP CONSTRAINT invitations_email_nfkc;
ALTER TABLE users DROP CONSTRAINT users_email_nfkc;
