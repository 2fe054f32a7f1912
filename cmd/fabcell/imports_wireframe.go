package main

// The wire-frame printing process registers itself in init().
import _ "fabcell/processes/wireframe"
