import * as axondb from "axondb";

window.axondb = axondb;
window.axondbReady = true;
