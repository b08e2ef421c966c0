package main

import _ "github.com/sluiceio/sluice/all" // every built-in component type
