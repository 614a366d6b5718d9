# storage_local: rules come with the plugin
