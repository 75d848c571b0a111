"""The feed's web pages, server-rendered for web visitors: a public post's share page, a creator's page,
the home page, and a signed-in person's cameo page. Reads go through the feed's and the cameo app's
selectors, writes through their services; nothing here decides who may see or do what."""
