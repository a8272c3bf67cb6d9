"""Rules in motion: the tick (`runner`), schedules (`scheduler`, the only module that imports
APScheduler), previews and explain (`preview`), and the rule file's own tests (`ruletests`)."""
