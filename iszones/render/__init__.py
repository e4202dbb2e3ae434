"""Everything users see: the text choke point, formatting, cards, web and static maps, briefs."""
