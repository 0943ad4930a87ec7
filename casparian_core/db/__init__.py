"""The SQLite control plane: schema, migrations, connections and the async store."""
