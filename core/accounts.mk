# accounts: rules come with the module
