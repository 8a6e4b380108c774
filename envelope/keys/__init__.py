"""Key services: the KeyService contract and its backends."""
