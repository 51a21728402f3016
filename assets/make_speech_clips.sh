#!/usr/bin/env bash
# Regenerates the example speech clips: espeak-ng speaks each sentence, sox makes it 16 kHz mono 16-bit PCM.
# Needs Debian's espeak-ng and sox (apt-get install espeak-ng sox).
set -euo pipefail
cd "$(dirname "$0")/audio"
speak() {  # voice, file, sentence
  espeak-ng -v "$1" -s 150 -w /tmp/clip-raw.wav "$3"
  sox /tmp/clip-raw.wav -r 16000 -c 1 -b 16 "$2"
  rm /tmp/clip-raw.wav
}
speak en en.wav "The weather is lovely today. Shall we take a walk along the river after lunch?"
speak fr fr.wav "Bonjour à tous. Le marché ouvre à huit heures et ferme à midi."
speak de de.wav "Guten Morgen. Der Zug nach Berlin fährt heute zwanzig Minuten später ab."
# Languages Whisper knows poorly (Swahili) or not at all (Guarani), for MMS-1b-all and MMS-LID.
speak sw sw.wav "Habari za asubuhi. Soko linafunguliwa saa mbili asubuhi na kufungwa saa sita mchana."
speak gn gn.wav "Mba'éichapa. Iporã, aguyje. Che réra Maria."
