copy duro_stage ("id", "email", "updated_at") from stdin with (format csv, null '\N');
vacuum "analytics"."users";
