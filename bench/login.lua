-- wrk script: logins of a demonstration account, with the right password.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email": "contact@ferme-de-l-envol.demo", "password": "Sésame démo en Cœur d\'Essonne"}'
