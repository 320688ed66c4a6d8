"""Tools that drive a gateway from outside: ports and processes for a test or benchmark
deployment, the buy-side client, the load generator, the echo acceptor."""
