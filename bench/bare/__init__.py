"""The reference API: the gateway's validation and authentication, answering 202 without storing or queueing."""
