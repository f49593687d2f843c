"""What a person looks at: HTML reports (the atlas) built from measured results."""
